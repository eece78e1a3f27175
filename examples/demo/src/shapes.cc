// libshapes: C++ with virtual functions, templates and exceptions.
#include "shapes.h"
#include <cstring>

namespace shapes {
Shape::~Shape() {}

namespace {
struct Square : Shape {
  double s;
  explicit Square(double v) : s(clamp_positive(v)) {}
  double area() const override { return s * s; }
  const char *name() const override { return "square"; }
};
struct Circle : Shape {
  double r;
  explicit Circle(double v) : r(clamp_positive(v)) {}
  double area() const override { return 3.14159 * r * r; }
  const char *name() const override { return "circle"; }
};
}  // namespace

std::unique_ptr<Shape> make(const char *kind, double size) {
  if (std::strcmp(kind, "square") == 0) return std::unique_ptr<Shape>(new Square(size));
  if (std::strcmp(kind, "circle") == 0) return std::unique_ptr<Shape>(new Circle(size));
  throw std::runtime_error(std::string("unknown shape ") + kind);
}

double total_area(const std::vector<std::unique_ptr<Shape>> &all) {
  double t = 0;
  for (const auto &s : all) t += s->area();
  return t;
}

double unused_perimeter_sum(const std::vector<std::unique_ptr<Shape>> &all) {
  double t = 0;
  for (const auto &s : all) t += clamp_positive(s->area()) * 4;
  return t;
}
}  // namespace shapes
