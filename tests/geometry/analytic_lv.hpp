// A truncated ellipse (an LV-like shape: rounded apex, flat base) with its closed-form method-of-discs
// and area-length values, rasterised at any size, rotation and flip. Shared by tests and benchmarks.
#pragma once
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "echo/image.hpp"

namespace echo_test {

constexpr double kPi = 3.14159265358979323846;

// In its own frame (u along the long axis, v across) the shape is (u/a)^2 + (v/b)^2 <= 1 and u <= h:
// apex at u = -a, flat base (the "annulus") at u = +h, long axis L = a + h.
struct TruncatedEllipse {
  double a = 40, b = 20, h = 20;        // in mm
  double centre_x = 0, centre_y = 0;   // in mm
  double angle_deg = 0;                // the base direction (+u) in image axes, degrees from +x
  bool flip_x = false, flip_y = false; // mirror the image after rotating

  double long_axis() const { return a + h; }
  // Width of the cut at u.
  double width_at(double u) const { return std::abs(u) >= a ? 0.0 : 2 * b * std::sqrt(1 - u * u / (a * a)); }
  // pi/4 * sum d_k^2 * L/n with disc k centred (k + 0.5) L / n from the base: the closed form the
  // measurement must reproduce.
  double discs_volume(int n = 20) const {
    double sum = 0;
    for (int k = 0; k < n; ++k) {
      const double d = width_at(h - (k + 0.5) * long_axis() / n);
      sum += d * d;
    }
    return kPi / 4 * sum * long_axis() / n;
  }
  double biplane_discs_volume(double b_other, int n = 20) const {
    double sum = 0;
    for (int k = 0; k < n; ++k) {
      const double d = width_at(h - (k + 0.5) * long_axis() / n);
      sum += d * d * (b_other / b);
    }
    return kPi / 4 * sum * long_axis() / n;
  }
  // Exact volume of the truncated ellipsoid of revolution (for reference).
  double solid_volume() const { return kPi * b * b * ((a + h) - (h * h * h + a * a * a) / (3 * a * a)); }
  double area() const {
    const double t = h / a;
    return a * b * (kPi / 2 + std::asin(t) + t * std::sqrt(1 - t * t));
  }
  double area_length_volume() const { return 0.85 * area() * area() / long_axis(); }

  // Image position (mm) of a point given in the shape frame.
  void to_image(double u, double v, double* x, double* y) const {
    const double c = std::cos(angle_deg * kPi / 180), s = std::sin(angle_deg * kPi / 180);
    *x = u * c - v * s;
    *y = u * s + v * c;
    if (flip_x) *x = -*x;
    if (flip_y) *y = -*y;
    *x += centre_x;
    *y += centre_y;
  }
  bool contains_image_point(double x, double y) const {
    x -= centre_x;
    y -= centre_y;
    if (flip_x) x = -x;
    if (flip_y) y = -y;
    const double c = std::cos(angle_deg * kPi / 180), s = std::sin(angle_deg * kPi / 180);
    const double u = x * c + y * s, v = -x * s + y * c;
    return u <= h && (u * u) / (a * a) + (v * v) / (b * b) <= 1;
  }
  // Pixel (i, j) is inside when its centre (i * sx, j * sy) mm is.
  echo::Image8 rasterise(int width, int height, double mm_per_px_x = 1, double mm_per_px_y = 1) const {
    echo::Image8 mask(width, height);
    for (int j = 0; j < height; ++j)
      for (int i = 0; i < width; ++i)
        if (contains_image_point(i * mm_per_px_x, j * mm_per_px_y)) mask.at(i, j) = 255;
    return mask;
  }
  echo::Contour polygon_px(int points, double mm_per_px_x = 1, double mm_per_px_y = 1) const {
    echo::Contour contour;
    const double t_base = std::acos(h / a);  // the base corners at angle +-t_base from +u
    for (int k = 0; k < points; ++k) {       // the curved part from one corner round the apex to the other
      const double t = t_base + (2 * kPi - 2 * t_base) * k / points;
      double x, y;
      to_image(a * std::cos(t), b * std::sin(t), &x, &y);
      contour.push_back(echo::Point2{x / mm_per_px_x, y / mm_per_px_y});
    }
    double x, y;  // the other corner closes the base
    to_image(h, -b * std::sin(t_base), &x, &y);
    contour.push_back(echo::Point2{x / mm_per_px_x, y / mm_per_px_y});
    return contour;
  }
};

// A NumPy .npy file (format 1.0) with the given header dict and raw data, for mask-reading tests.
inline void write_npy(const std::string& path, const std::string& header_dict, const std::string& data) {
  std::string header = header_dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const char length[2] = {static_cast<char>(header.size() & 0xff), static_cast<char>(header.size() >> 8)};
  out.write(length, 2);
  out << header << data;
}

// Masks of one size as a uint8 N x H x W .npy.
inline void write_masks_npy(const std::string& path, const std::vector<echo::Image8>& masks) {
  std::string data;
  for (const auto& mask : masks) data.append(mask.pixels.begin(), mask.pixels.end());
  write_npy(path, "{'descr': '|u1', 'fortran_order': False, 'shape': (" + std::to_string(masks.size()) + ", " +
                      std::to_string(masks[0].height) + ", " + std::to_string(masks[0].width) + "), }",
            data);
}

}  // namespace echo_test
