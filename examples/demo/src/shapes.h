#ifndef DEMO_SHAPES_H
#define DEMO_SHAPES_H
#include <memory>
#include <stdexcept>
#include <vector>

namespace shapes {
struct Shape {
  virtual ~Shape();
  virtual double area() const = 0;
  virtual const char *name() const = 0;
};
std::unique_ptr<Shape> make(const char *kind, double size);
double total_area(const std::vector<std::unique_ptr<Shape>> &all);
template <typename T> T clamp_positive(T v) {
  if (v < T(0)) throw std::invalid_argument("negative size");
  return v;
}
double unused_perimeter_sum(const std::vector<std::unique_ptr<Shape>> &all);
}  // namespace shapes
#endif
