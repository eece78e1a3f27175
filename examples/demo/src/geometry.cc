#include <cstdio>
#include "shapes.h"
int main() {
  std::vector<std::unique_ptr<shapes::Shape>> all;
  all.push_back(shapes::make("square", 2));
  all.push_back(shapes::make("circle", 1));
  std::printf("total area %.2f\n", shapes::total_area(all));
  try {
    shapes::make("triangle", 1);
  } catch (const std::exception &e) {
    std::printf("caught: %s\n", e.what());
  }
  try {
    shapes::make("square", -1);
  } catch (const std::invalid_argument &e) {
    std::printf("caught: %s\n", e.what());
  }
  return 0;
}
