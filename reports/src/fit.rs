//! Non-negative least squares: per-operation costs from several runs' totals. Each run (a row)
//! gives a component's CPU and the counts of what it did; the fit finds the costs ≥ 0 that best
//! explain every row at once. One run cannot separate its operations (any split of its CPU fits
//! it); runs whose operations come in different proportions can. Columns that moved together in
//! every run (one a multiple or sum of others) cannot be told apart at all: they are left out and
//! named, their cost carried by the columns they moved with.
//!
//! Lawson and Hanson's active-set method on a few columns, hand-written: no maintained crate
//! offers it without a linear-algebra stack, and the problems here are at most ten by ten.

/// What a fit found.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// One per column, ≥ 0 (0 for a column left out).
    pub coefficients: Vec<f64>,
    /// The columns left out, and why.
    pub left_out: Vec<(usize, LeftOut)>,
    /// The fitted value of each row.
    pub fitted: Vec<f64>,
    /// 1 − residual ÷ total sum of squares about the mean (1: every row explained).
    pub r_squared: f64,
}

/// Why a column was left out of a fit.
#[derive(Debug, Clone, PartialEq)]
pub enum LeftOut {
    /// It was zero in every row.
    NeverHappened,
    /// It was (within 2%) a combination of these earlier columns in every row.
    MovedWith(Vec<usize>),
}

/// A column whose part not explained by earlier columns is below this share of its length is
/// a combination of them.
const DEPENDENT: f64 = 0.02;

/// Fits `y ≈ Σ coefficient[j] × columns[j]` with every coefficient ≥ 0, each row's error
/// weighted by `weights[i]` (its squared error counts `weights[i]²`). Weighting each row by
/// 1 ÷ its value fits relative errors: a small row counts as much as a large one. `fitted` and
/// `r_squared` are in the rows' own units.
pub fn fit_weighted(columns: &[Vec<f64>], y: &[f64], weights: &[f64]) -> Fit {
    let scaled: Vec<Vec<f64>> = columns
        .iter()
        .map(|column| column.iter().zip(weights).map(|(v, w)| v * w).collect())
        .collect();
    let scaled_y: Vec<f64> = y.iter().zip(weights).map(|(v, w)| v * w).collect();
    let found = fit(&scaled, &scaled_y);
    let fitted = predict(columns, &found.coefficients);
    Fit {
        r_squared: r_squared(y, &fitted),
        fitted,
        ..found
    }
}

fn predict(columns: &[Vec<f64>], coefficients: &[f64]) -> Vec<f64> {
    (0..columns.first().map_or(0, Vec::len))
        .map(|i| {
            columns
                .iter()
                .zip(coefficients)
                .map(|(column, c)| column[i] * c)
                .sum()
        })
        .collect()
}

fn r_squared(y: &[f64], fitted: &[f64]) -> f64 {
    let mean = y.iter().sum::<f64>() / y.len().max(1) as f64;
    let total: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let residual: f64 = y.iter().zip(fitted).map(|(v, f)| (v - f).powi(2)).sum();
    if total > 0.0 {
        1.0 - residual / total
    } else {
        1.0
    }
}

/// Fits `y ≈ Σ coefficient[j] × columns[j]` with every coefficient ≥ 0. Columns are taken in
/// order: one that the earlier kept columns explain is left out.
pub fn fit(columns: &[Vec<f64>], y: &[f64]) -> Fit {
    let mut left_out = Vec::new();
    // Scaled to unit length, so the dependence test and the solve see columns alike.
    let mut kept: Vec<usize> = Vec::new();
    let mut basis: Vec<Vec<f64>> = Vec::new();
    let mut scales = vec![0.0; columns.len()];
    for (j, column) in columns.iter().enumerate() {
        let length = norm(column);
        if length == 0.0 || !length.is_finite() {
            left_out.push((j, LeftOut::NeverHappened));
            continue;
        }
        scales[j] = length;
        let unit: Vec<f64> = column.iter().map(|v| v / length).collect();
        // Gram–Schmidt against the kept columns' orthonormal basis.
        let mut rest = unit.clone();
        for b in &basis {
            let along = dot(&rest, b);
            rest.iter_mut().zip(b).for_each(|(r, b)| *r -= along * b);
        }
        let rest_length = norm(&rest);
        if rest_length < DEPENDENT {
            // The kept columns it is made of: those with a real share in its least-squares
            // expression by them.
            let units: Vec<Vec<f64>> = kept
                .iter()
                .map(|&k| columns[k].iter().map(|v| v / scales[k]).collect())
                .collect();
            let all: Vec<usize> = (0..kept.len()).collect();
            let shares = least_squares(&units, &all, &unit);
            let with = kept
                .iter()
                .zip(shares)
                .filter(|(_, share)| share.abs() > 0.05)
                .map(|(&k, _)| k)
                .collect();
            left_out.push((j, LeftOut::MovedWith(with)));
            continue;
        }
        basis.push(rest.iter().map(|r| r / rest_length).collect());
        kept.push(j);
    }
    let scaled: Vec<Vec<f64>> = kept
        .iter()
        .map(|&j| columns[j].iter().map(|v| v / scales[j]).collect())
        .collect();
    let solved = nnls(&scaled, y);
    let mut coefficients = vec![0.0; columns.len()];
    for (slot, &j) in kept.iter().enumerate() {
        coefficients[j] = solved[slot] / scales[j];
    }
    let fitted = predict(columns, &coefficients);
    let r_squared = r_squared(y, &fitted);
    Fit {
        coefficients,
        left_out,
        fitted,
        r_squared,
    }
}

/// Lawson–Hanson: min ‖A x − y‖ subject to x ≥ 0, `columns` being A's columns.
fn nnls(columns: &[Vec<f64>], y: &[f64]) -> Vec<f64> {
    let n = columns.len();
    let mut x = vec![0.0; n];
    let mut passive = vec![false; n];
    // A variable that left at once when it entered (its solved value not positive, which
    // rounding can do): not taken again until another one has entered and stayed, or the
    // method would take it and drop it forever.
    let mut blocked = vec![false; n];
    let tolerance = 1e-10 * (1.0 + norm(y));
    for _ in 0..(3 * n + 10) {
        // The gradient of −½‖y − A x‖²: where it is positive, raising x lowers the residual.
        let residual = residual(columns, &x, y);
        let gradient: Vec<f64> = columns.iter().map(|c| dot(c, &residual)).collect();
        let Some(enter) = (0..n)
            .filter(|&j| !passive[j] && !blocked[j] && gradient[j] > tolerance)
            .max_by(|&a, &b| gradient[a].total_cmp(&gradient[b]))
        else {
            break;
        };
        passive[enter] = true;
        loop {
            let set: Vec<usize> = (0..n).filter(|&j| passive[j]).collect();
            let z = least_squares(columns, &set, y);
            if z.iter().all(|&v| v > 0.0) {
                for (slot, &j) in set.iter().enumerate() {
                    x[j] = z[slot];
                }
                break;
            }
            // Step from x towards z as far as stays feasible; the variables that hit zero
            // leave the passive set.
            let mut step = 1.0f64;
            for (slot, &j) in set.iter().enumerate() {
                if z[slot] <= 0.0 && x[j] - z[slot] > 0.0 {
                    step = step.min(x[j] / (x[j] - z[slot]));
                }
            }
            for (slot, &j) in set.iter().enumerate() {
                x[j] += step * (z[slot] - x[j]);
                if x[j] <= tolerance {
                    x[j] = 0.0;
                    passive[j] = false;
                }
            }
            if !passive.iter().any(|&p| p) {
                break;
            }
        }
        if passive[enter] {
            blocked.iter_mut().for_each(|b| *b = false);
        } else {
            blocked[enter] = true;
        }
    }
    x
}

/// Unconstrained least squares on the columns in `set` (normal equations, Gaussian
/// elimination with partial pivoting: the columns are unit length and independent).
fn least_squares(columns: &[Vec<f64>], set: &[usize], y: &[f64]) -> Vec<f64> {
    let k = set.len();
    let mut a = vec![vec![0.0; k + 1]; k];
    for (r, &i) in set.iter().enumerate() {
        for (c, &j) in set.iter().enumerate() {
            a[r][c] = dot(&columns[i], &columns[j]);
        }
        a[r][k] = dot(&columns[i], y);
    }
    for pivot in 0..k {
        let best = (pivot..k)
            .max_by(|&p, &q| a[p][pivot].abs().total_cmp(&a[q][pivot].abs()))
            .unwrap_or(pivot);
        a.swap(pivot, best);
        let lead = a[pivot][pivot];
        if lead.abs() < 1e-300 {
            continue;
        }
        let pivot_row = a[pivot].clone();
        for (index, row) in a.iter_mut().enumerate() {
            if index != pivot {
                let factor = row[pivot] / lead;
                for (cell, above) in row.iter_mut().zip(&pivot_row).skip(pivot) {
                    *cell -= factor * above;
                }
            }
        }
    }
    (0..k)
        .map(|r| {
            if a[r][r].abs() < 1e-300 {
                0.0
            } else {
                a[r][k] / a[r][r]
            }
        })
        .collect()
}

fn residual(columns: &[Vec<f64>], x: &[f64], y: &[f64]) -> Vec<f64> {
    (0..y.len())
        .map(|i| y[i] - columns.iter().zip(x).map(|(c, x)| c[i] * x).sum::<f64>())
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, share: f64) -> bool {
        (a - b).abs() <= share * b.abs().max(1e-12)
    }

    /// Rows from known costs, with a little noise of a fixed pattern.
    fn rows(costs: &[f64], columns: &[Vec<f64>], noise: f64) -> Vec<f64> {
        (0..columns[0].len())
            .map(|i| {
                let exact: f64 = columns.iter().zip(costs).map(|(c, k)| c[i] * k).sum();
                exact * (1.0 + noise * if i % 2 == 0 { 1.0 } else { -1.0 })
            })
            .collect()
    }

    #[test]
    fn planted_costs_are_found_from_mixes_in_different_proportions() {
        // seconds, password logins, SSO logins, over six runs.
        let columns = vec![
            vec![15.0, 15.0, 15.0, 15.0, 15.0, 15.0],
            vec![300.0, 150.0, 900.0, 20.0, 100.0, 600.0],
            vec![600.0, 300.0, 0.0, 0.0, 200.0, 50.0],
        ];
        let costs = [0.004, 0.0005, 0.0002];
        let fit = fit(&columns, &rows(&costs, &columns, 0.0));
        for (found, planted) in fit.coefficients.iter().zip(costs) {
            assert!(close(*found, planted, 1e-6), "{found} for {planted}");
        }
        assert!(fit.left_out.is_empty());
        assert!(fit.r_squared > 0.999_999);

        let noisy = fit_noisy(&columns, &costs);
        for (found, planted) in noisy.coefficients.iter().zip(costs) {
            assert!(
                close(*found, planted, 0.15),
                "{found} for {planted} with 2% noise"
            );
        }
    }

    fn fit_noisy(columns: &[Vec<f64>], costs: &[f64]) -> Fit {
        fit(columns, &rows(costs, columns, 0.02))
    }

    /// The best non-negative fit by trying every subset of columns: unconstrained least
    /// squares on each, the feasible one with the least residual.
    fn brute_force(columns: &[Vec<f64>], y: &[f64]) -> f64 {
        let n = columns.len();
        let mut best = f64::INFINITY;
        for mask in 0..(1u32 << n) {
            let set: Vec<usize> = (0..n).filter(|j| mask & (1 << j) != 0).collect();
            let z = least_squares(columns, &set, y);
            if z.iter().any(|&v| v < 0.0) {
                continue;
            }
            let mut x = vec![0.0; n];
            for (slot, &j) in set.iter().enumerate() {
                x[j] = z[slot];
            }
            best = best.min(norm(&residual(columns, &x, y)));
        }
        best
    }

    #[test]
    fn nnls_reaches_the_best_non_negative_fit_on_random_problems() {
        // A fixed pseudo-random sequence: columns and targets with mixed signs, so variables
        // enter, leave and enter again.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 2001) as f64 / 1000.0 - 1.0
        };
        for case in 0..200 {
            let n = 2 + case % 4;
            let rows = n + 3;
            let columns: Vec<Vec<f64>> = (0..n)
                .map(|_| (0..rows).map(|_| next()).collect())
                .collect();
            let y: Vec<f64> = (0..rows).map(|_| next()).collect();
            let x = nnls(&columns, &y);
            assert!(x.iter().all(|&v| v >= 0.0), "case {case}: {x:?}");
            let found = norm(&residual(&columns, &x, &y));
            let best = brute_force(&columns, &y);
            assert!(
                found <= best * (1.0 + 1e-9) + 1e-12,
                "case {case}: residual {found} against the best {best}"
            );
        }
    }

    #[test]
    fn a_column_that_is_the_sum_of_others_is_left_out_and_named() {
        let pw = vec![300.0, 150.0, 900.0, 20.0];
        let sso = vec![600.0, 300.0, 0.0, 10.0];
        let tokens: Vec<f64> = pw.iter().zip(&sso).map(|(a, b)| a + b).collect();
        let never = vec![0.0; 4];
        let columns = vec![pw.clone(), sso.clone(), tokens, never];
        let y = rows(&[0.001, 0.0004, 0.0, 0.0], &columns, 0.0);
        let fit = fit(&columns, &y);
        assert_eq!(
            fit.left_out,
            vec![
                (2, LeftOut::MovedWith(vec![0, 1])),
                (3, LeftOut::NeverHappened)
            ]
        );
        assert!(close(fit.coefficients[0], 0.001, 1e-6));
        assert!(close(fit.coefficients[1], 0.0004, 1e-6));
        assert_eq!(fit.coefficients[2], 0.0);
    }

    #[test]
    fn no_cost_comes_out_negative() {
        // y = c1 − 0.1 × c2: unconstrained, the second cost would be −0.1.
        let columns = vec![vec![1.0, 2.0, 3.0, 4.0], vec![4.0, 1.0, 3.0, 2.0]];
        let y = vec![0.6, 1.9, 2.7, 3.8];
        let fit = fit(&columns, &y);
        assert_eq!(fit.coefficients[1], 0.0);
        // The first alone, by least squares: Σ c1·y ÷ Σ c1² = 27.7 ÷ 30.
        assert!(
            close(fit.coefficients[0], 27.7 / 30.0, 1e-9),
            "{:?}",
            fit.coefficients
        );
    }
}
