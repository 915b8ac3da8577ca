//! Geohash (base-32 interleaved latitude/longitude) and the grid of geohash cells inside a polygon,
//! as CAMARA Predictive Connectivity Data reports connectivity per geohash cell.

const BASE32: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

/// The longest geohash we handle (about 3.7 cm by 1.9 cm).
pub const MAX_PRECISION: usize = 12;

/// A point in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub latitude: f64,
    pub longitude: f64,
}

/// A geohash cell's bounds in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub min_lat: f64,
    pub max_lat: f64,
    pub min_lon: f64,
    pub max_lon: f64,
}

impl Bounds {
    pub fn center(&self) -> Point {
        Point {
            latitude: (self.min_lat + self.max_lat) / 2.0,
            longitude: (self.min_lon + self.max_lon) / 2.0,
        }
    }
}

/// Whether `s` is a geohash of 1 to [`MAX_PRECISION`] characters.
pub fn is_valid(s: &str) -> bool {
    (1..=MAX_PRECISION).contains(&s.len()) && s.bytes().all(|b| BASE32.contains(&b))
}

/// Encodes a point at `precision` characters (clamped to 1..=12).
pub fn encode(p: Point, precision: usize) -> String {
    let precision = precision.clamp(1, MAX_PRECISION);
    let (mut lat, mut lon) = ((-90.0f64, 90.0f64), (-180.0f64, 180.0f64));
    let mut out = String::with_capacity(precision);
    let mut even = true;
    let (mut bits, mut ch) = (0, 0usize);
    while out.len() < precision {
        let (range, value) = if even {
            (&mut lon, p.longitude)
        } else {
            (&mut lat, p.latitude)
        };
        let mid = (range.0 + range.1) / 2.0;
        ch <<= 1;
        if value >= mid {
            ch |= 1;
            range.0 = mid;
        } else {
            range.1 = mid;
        }
        even = !even;
        bits += 1;
        if bits == 5 {
            out.push(BASE32[ch] as char);
            bits = 0;
            ch = 0;
        }
    }
    out
}

/// The bounds of a geohash cell; `None` if `hash` is not a geohash.
pub fn bounds(hash: &str) -> Option<Bounds> {
    if !is_valid(hash) {
        return None;
    }
    let (mut lat, mut lon) = ((-90.0f64, 90.0f64), (-180.0f64, 180.0f64));
    let mut even = true;
    for b in hash.bytes() {
        let v = BASE32.iter().position(|&c| c == b)?;
        for shift in (0..5).rev() {
            let range = if even { &mut lon } else { &mut lat };
            let mid = (range.0 + range.1) / 2.0;
            if (v >> shift) & 1 == 1 {
                range.0 = mid;
            } else {
                range.1 = mid;
            }
            even = !even;
        }
    }
    Some(Bounds {
        min_lat: lat.0,
        max_lat: lat.1,
        min_lon: lon.0,
        max_lon: lon.1,
    })
}

/// A polygon just inside a geohash cell: asking Predictive Connectivity Data for it at the
/// hash's precision reports exactly that cell. `None` if `hash` is not a geohash.
pub fn cell_boundary(hash: &str) -> Option<Vec<Point>> {
    let b = bounds(hash)?;
    let (dlat, dlon) = ((b.max_lat - b.min_lat) / 4.0, (b.max_lon - b.min_lon) / 4.0);
    let (s, n, w, e) = (
        b.min_lat + dlat,
        b.max_lat - dlat,
        b.min_lon + dlon,
        b.max_lon - dlon,
    );
    Some(vec![
        Point {
            latitude: s,
            longitude: w,
        },
        Point {
            latitude: s,
            longitude: e,
        },
        Point {
            latitude: n,
            longitude: e,
        },
        Point {
            latitude: n,
            longitude: w,
        },
    ])
}

/// Cell size in degrees (latitude, longitude) at `precision`.
fn cell_size(precision: usize) -> (f64, f64) {
    let bits = 5 * precision as i32;
    let lon_bits = (bits + 1) / 2;
    let lat_bits = bits / 2;
    (180.0 / 2f64.powi(lat_bits), 360.0 / 2f64.powi(lon_bits))
}

/// Ray casting: whether `p` lies inside the polygon (edges between consecutive points, closed).
pub fn polygon_contains(polygon: &[Point], p: Point) -> bool {
    let mut inside = false;
    let mut j = polygon.len().wrapping_sub(1);
    for i in 0..polygon.len() {
        let (a, b) = (polygon[i], polygon[j]);
        if (a.latitude > p.latitude) != (b.latitude > p.latitude) {
            let x = (b.longitude - a.longitude) * (p.latitude - a.latitude)
                / (b.latitude - a.latitude)
                + a.longitude;
            if p.longitude < x {
                inside = !inside;
            }
        }
        j = i;
    }
    inside
}

/// The geohash cells at `precision` whose centres lie inside the polygon, in row order; `None`
/// if there would be more than `limit` candidate cells (the caller answers "too large").
pub fn cells_in_polygon(polygon: &[Point], precision: usize, limit: usize) -> Option<Vec<String>> {
    let precision = precision.clamp(1, MAX_PRECISION);
    if polygon.len() < 3 {
        return Some(Vec::new());
    }
    let min_lat = polygon
        .iter()
        .map(|p| p.latitude)
        .fold(f64::INFINITY, f64::min);
    let max_lat = polygon
        .iter()
        .map(|p| p.latitude)
        .fold(f64::NEG_INFINITY, f64::max);
    let min_lon = polygon
        .iter()
        .map(|p| p.longitude)
        .fold(f64::INFINITY, f64::min);
    let max_lon = polygon
        .iter()
        .map(|p| p.longitude)
        .fold(f64::NEG_INFINITY, f64::max);
    let (dlat, dlon) = cell_size(precision);
    let rows = ((max_lat - min_lat) / dlat).ceil() as u64 + 1;
    let cols = ((max_lon - min_lon) / dlon).ceil() as u64 + 1;
    if rows.saturating_mul(cols) > limit as u64 {
        return None;
    }
    let lat0 = (min_lat / dlat).floor() * dlat;
    let lon0 = (min_lon / dlon).floor() * dlon;
    let mut out = Vec::new();
    for r in 0..=rows {
        for c in 0..=cols {
            let center = Point {
                latitude: lat0 + (r as f64 + 0.5) * dlat,
                longitude: lon0 + (c as f64 + 0.5) * dlon,
            };
            if center.latitude > 90.0 || center.longitude > 180.0 {
                continue;
            }
            if polygon_contains(polygon, center) {
                let hash = encode(center, precision);
                if out.last() != Some(&hash) {
                    out.push(hash);
                }
            }
        }
    }
    out.dedup();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_boundary_holds_exactly_its_cell() {
        for hash in ["u3buv8", "u4pruyd", "s"] {
            let polygon = cell_boundary(hash).unwrap();
            assert_eq!(
                cells_in_polygon(&polygon, hash.len(), 10),
                Some(vec![hash.to_string()])
            );
        }
        assert_eq!(cell_boundary("not a hash"), None);
    }

    #[test]
    fn encodes_public_vectors() {
        // Wikipedia's Geohash article: 57.64911, 10.40744 is u4pruydqqvj.
        let p = Point {
            latitude: 57.64911,
            longitude: 10.40744,
        };
        assert_eq!(encode(p, 11), "u4pruydqqvj");
        let b = bounds("u4pruydqqvj").unwrap();
        assert!((b.center().latitude - 57.64911).abs() < 1e-5);
        assert!((b.center().longitude - 10.40744).abs() < 1e-5);
        // CAMARA PCD's example cell.
        assert!(bounds("ezdmemd").is_some());
        assert!(
            bounds("ezdmema").is_none(),
            "a is not in the geohash alphabet"
        );
    }

    #[test]
    fn polygon_cells_cover_the_polygon_and_respect_the_limit() {
        let b = bounds("u4pru").unwrap();
        let square = [
            Point {
                latitude: b.min_lat,
                longitude: b.min_lon,
            },
            Point {
                latitude: b.max_lat,
                longitude: b.min_lon,
            },
            Point {
                latitude: b.max_lat,
                longitude: b.max_lon,
            },
            Point {
                latitude: b.min_lat,
                longitude: b.max_lon,
            },
        ];
        let cells = cells_in_polygon(&square, 6, 10_000).unwrap();
        assert_eq!(
            cells.len(),
            32,
            "a precision-5 cell holds 32 precision-6 cells"
        );
        assert!(cells.iter().all(|c| c.starts_with("u4pru")));
        assert_eq!(cells_in_polygon(&square, 9, 100), None);
    }
}
