//! Unconstrained L-BFGS as scipy's L-BFGS-B runs it without bounds (`scipy.optimize.minimize(method=
//! "L-BFGS-B")`, which scikit-learn's `LogisticRegression(solver="lbfgs")` calls with `maxls=50`,
//! `gtol=tol`, `ftol=64ε`): ten correction pairs, the first step of length 1/‖g‖ along −g, then steps of 1
//! along the quasi-Newton direction, the Moré–Thuente line search (MINPACK-2 `dcsrch`, ftol 1e-3, gtol 0.9,
//! xtol 0.1), the same curvature test for skipping an update, the same restart after a failed line search
//! and the same stopping rules.
//!
//! Why replicate rather than use any convergent method: scikit-learn's default `tol=1e-4` stops well short
//! of the optimum (predicted probabilities move by ~1e-3 if it is tightened), so only the same iterations
//! give the same model. Without bounds the compact L-BFGS-B matrix and the two-loop recursion used here
//! produce the same direction, up to rounding.

use std::collections::VecDeque;

use super::dot;

/// scipy's default `maxcor`.
const MEMORY: usize = 10;
/// scikit-learn's `maxls`: most function evaluations in one line search.
const MAX_LINE_SEARCH: usize = 50;
/// L-BFGS-B's cap on a step (it only matters with bounds, but it is part of the line search's bracket).
const MAX_STEP: f64 = 1e10;
const LINE_SEARCH_FTOL: f64 = 1e-3;
const LINE_SEARCH_GTOL: f64 = 0.9;
const LINE_SEARCH_XTOL: f64 = 0.1;
/// scikit-learn's `ftol = 64 · ε`: stop when an iteration improves the objective by less, relatively.
const RELATIVE_REDUCTION: f64 = 64.0 * f64::EPSILON;

pub(super) struct Minimum {
    pub x: Vec<f64>,
    /// Completed iterations (scipy's `nit`, scikit-learn's `n_iter_`).
    pub n_iter: usize,
    /// False when `max_iter` was reached or the line search failed (scipy's non-zero `status`).
    pub converged: bool,
}

/// One stored correction: `s = x_{k+1} − x_k`, `y = g_{k+1} − g_k` and `sᵀy`.
struct Correction {
    s: Vec<f64>,
    y: Vec<f64>,
    sy: f64,
}

/// Minimises `objective`, which returns f(x) and writes ∇f(x) into its second argument, from `x`.
/// Stops when max|∇f| ≤ `gtol` or after `max_iter` iterations (`max_iter` ≥ 1).
pub(super) fn minimize<F>(mut objective: F, mut x: Vec<f64>, max_iter: usize, gtol: f64) -> Minimum
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let n = x.len();
    let mut g = vec![0.0; n];
    let mut f = objective(&x, &mut g);
    if inf_norm(&g) <= gtol {
        return Minimum { x, n_iter: 0, converged: true };
    }
    let mut memory: VecDeque<Correction> = VecDeque::with_capacity(MEMORY);
    let mut n_iter = 0;
    loop {
        let direction = search_direction(&x, &g, &memory);
        let first_step = if n_iter == 0 { (1.0 / dot(&direction, &direction).sqrt()).min(MAX_STEP) } else { 1.0 };
        let start = Point { x: x.clone(), f, g: g.clone() };
        let Some((point, step)) = line_search(&mut objective, &start, &direction, first_step) else {
            if memory.is_empty() {
                // scipy's ABNORMAL_TERMINATION_IN_LNSRCH: keep the last accepted point.
                return Minimum { x: start.x, n_iter, converged: false };
            }
            // Forget the curvature pairs and retry from the same point along −g.
            memory.clear();
            continue;
        };
        (x, f, g) = (point.x, point.f, point.g);
        n_iter += 1;
        // scipy checks the iteration limit before the convergence tests.
        if n_iter >= max_iter {
            return Minimum { x, n_iter, converged: false };
        }
        if inf_norm(&g) <= gtol || start.f - f <= RELATIVE_REDUCTION * start.f.abs().max(f.abs()).max(1.0) {
            return Minimum { x, n_iter, converged: true };
        }
        remember(&mut memory, &start, &g, &direction, &step);
    }
}

/// The quasi-Newton step's end point written `z = x − H·g` and the direction taken as `z − x`, as
/// L-BFGS-B forms it (the rounding of that difference is part of its iterates).
fn search_direction(x: &[f64], g: &[f64], memory: &VecDeque<Correction>) -> Vec<f64> {
    let newton = two_loop(g, memory);
    x.iter().zip(&newton).map(|(x_i, d_i)| (x_i + d_i) - x_i).collect()
}

/// `−H·g` for the L-BFGS inverse Hessian with H₀ = (sᵀy / yᵀy)·I from the newest pair (I when empty).
fn two_loop(g: &[f64], memory: &VecDeque<Correction>) -> Vec<f64> {
    let mut q: Vec<f64> = g.iter().map(|v| -v).collect();
    let mut alphas = Vec::with_capacity(memory.len());
    for c in memory.iter().rev() {
        let alpha = dot(&c.s, &q) / c.sy;
        q.iter_mut().zip(&c.y).for_each(|(q_i, y_i)| *q_i -= alpha * y_i);
        alphas.push(alpha);
    }
    if let Some(newest) = memory.back() {
        let scale = newest.sy / dot(&newest.y, &newest.y);
        q.iter_mut().for_each(|q_i| *q_i *= scale);
    }
    for (c, alpha) in memory.iter().zip(alphas.iter().rev()) {
        let beta = dot(&c.y, &q) / c.sy;
        q.iter_mut().zip(&c.s).for_each(|(q_i, s_i)| *q_i += (alpha - beta) * s_i);
    }
    q
}

/// Stores the step just taken unless its curvature `sᵀy` is not safely positive (L-BFGS-B's test, with
/// `sᵀy` formed as it forms it, from the slopes along the direction).
fn remember(memory: &mut VecDeque<Correction>, start: &Point, g: &[f64], direction: &[f64], step: &Step) {
    let (sy, scale) = if step.length == 1.0 {
        (step.slope - step.start_slope, -step.start_slope)
    } else {
        ((step.slope - step.start_slope) * step.length, -step.start_slope * step.length)
    };
    if sy <= f64::EPSILON * scale {
        return;
    }
    let s = direction.iter().map(|d| if step.length == 1.0 { *d } else { d * step.length }).collect();
    let y = g.iter().zip(&start.g).map(|(new, old)| new - old).collect();
    if memory.len() == MEMORY {
        memory.pop_front();
    }
    memory.push_back(Correction { s, y, sy });
}

fn inf_norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x.abs()).fold(0.0, f64::max)
}

struct Point {
    x: Vec<f64>,
    f: f64,
    g: Vec<f64>,
}

/// An accepted line-search step along the direction.
struct Step {
    length: f64,
    /// gᵀd at the start and at the accepted point.
    start_slope: f64,
    slope: f64,
}

/// L-BFGS-B's `lnsrlb`: `dcsrch` along `direction` from `start`; `None` when the direction does not
/// descend or the search needs more than [`MAX_LINE_SEARCH`] extra evaluations.
fn line_search<F>(objective: &mut F, start: &Point, direction: &[f64], first_step: f64) -> Option<(Point, Step)>
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let start_slope = dot(&start.g, direction);
    if start_slope >= 0.0 {
        return None;
    }
    let mut search = MoreThuente::new(start.f, start_slope, first_step);
    let mut length = first_step;
    let mut g = vec![0.0; direction.len()];
    for _ in 0..MAX_LINE_SEARCH {
        let x: Vec<f64> = if length == 1.0 {
            start.x.iter().zip(direction).map(|(x_i, d_i)| x_i + d_i).collect()
        } else {
            start.x.iter().zip(direction).map(|(x_i, d_i)| length * d_i + x_i).collect()
        };
        let f = objective(&x, &mut g);
        let slope = dot(&g, direction);
        match search.next(length, f, slope) {
            Search::Done => return Some((Point { x, f, g }, Step { length, start_slope, slope })),
            Search::Try(next) => length = next,
        }
    }
    None
}

enum Search {
    /// Accept the step just evaluated (converged, or a warning such as rounding errors: L-BFGS-B accepts
    /// both).
    Done,
    /// Evaluate this step length next.
    Try(f64),
}

/// MINPACK-2's `dcsrch` (Moré and Thuente 1994), with `stpmin = 0` and `stpmax = 1e10`.
struct MoreThuente {
    brackt: bool,
    stage: u8,
    finit: f64,
    ginit: f64,
    gtest: f64,
    width: f64,
    width1: f64,
    stx: f64,
    fx: f64,
    gx: f64,
    sty: f64,
    fy: f64,
    gy: f64,
    stmin: f64,
    stmax: f64,
}

impl MoreThuente {
    fn new(f: f64, g: f64, step: f64) -> Self {
        let width = MAX_STEP;
        MoreThuente {
            brackt: false,
            stage: 1,
            finit: f,
            ginit: g,
            gtest: LINE_SEARCH_FTOL * g,
            width,
            width1: width / 0.5,
            stx: 0.0,
            fx: f,
            gx: g,
            sty: 0.0,
            fy: f,
            gy: g,
            stmin: 0.0,
            stmax: step + 4.0 * step,
        }
    }

    /// Takes f and f' at step `stp` and says whether to stop or which step to try next.
    fn next(&mut self, stp: f64, f: f64, g: f64) -> Search {
        let ftest = self.finit + stp * self.gtest;
        if self.stage == 1 && f <= ftest && g >= 0.0 {
            self.stage = 2;
        }
        let warning = (self.brackt
            && (stp <= self.stmin || stp >= self.stmax || self.stmax - self.stmin <= LINE_SEARCH_XTOL * self.stmax))
            || (stp == MAX_STEP && f <= ftest && g <= self.gtest)
            || (stp == 0.0 && (f > ftest || g >= self.gtest));
        let converged = f <= ftest && g.abs() <= LINE_SEARCH_GTOL * -self.ginit;
        if warning || converged {
            return Search::Done;
        }
        let mut stp = stp;
        if self.stage == 1 && f <= self.fx && f > ftest {
            // The modified function ψ(α) = f(α) − f(0) − ftol·α·f'(0) predicts the step.
            let gtest = self.gtest;
            let mut x = Trial { st: self.stx, f: self.fx - self.stx * gtest, g: self.gx - gtest };
            let mut y = Trial { st: self.sty, f: self.fy - self.sty * gtest, g: self.gy - gtest };
            let p = Trial { st: stp, f: f - stp * gtest, g: g - gtest };
            stp = dcstep(&mut x, &mut y, p, &mut self.brackt, self.stmin, self.stmax);
            (self.stx, self.fx, self.gx) = (x.st, x.f + x.st * gtest, x.g + gtest);
            (self.sty, self.fy, self.gy) = (y.st, y.f + y.st * gtest, y.g + gtest);
        } else {
            let mut x = Trial { st: self.stx, f: self.fx, g: self.gx };
            let mut y = Trial { st: self.sty, f: self.fy, g: self.gy };
            stp = dcstep(&mut x, &mut y, Trial { st: stp, f, g }, &mut self.brackt, self.stmin, self.stmax);
            (self.stx, self.fx, self.gx) = (x.st, x.f, x.g);
            (self.sty, self.fy, self.gy) = (y.st, y.f, y.g);
        }
        if self.brackt {
            if (self.sty - self.stx).abs() >= 0.66 * self.width1 {
                stp = self.stx + 0.5 * (self.sty - self.stx);
            }
            self.width1 = self.width;
            self.width = (self.sty - self.stx).abs();
            self.stmin = self.stx.min(self.sty);
            self.stmax = self.stx.max(self.sty);
        } else {
            self.stmin = stp + 1.1 * (stp - self.stx);
            self.stmax = stp + 4.0 * (stp - self.stx);
        }
        stp = stp.clamp(0.0, MAX_STEP);
        if self.brackt
            && (stp <= self.stmin || stp >= self.stmax || self.stmax - self.stmin <= LINE_SEARCH_XTOL * self.stmax)
        {
            stp = self.stx;
        }
        Search::Try(stp)
    }
}

/// A step with its function value and derivative.
#[derive(Clone, Copy)]
struct Trial {
    st: f64,
    f: f64,
    g: f64,
}

/// MINPACK-2's `dcstep`: the safeguarded cubic or quadratic step, updating the bracket `x` (best so far)
/// and `y` with the trial `p`.
fn dcstep(x: &mut Trial, y: &mut Trial, p: Trial, brackt: &mut bool, stpmin: f64, stpmax: f64) -> f64 {
    let sgnd = p.g * (x.g / x.g.abs());
    let stpf = if p.f > x.f {
        // Higher value: the minimum is bracketed.
        let theta = 3.0 * (x.f - p.f) / (p.st - x.st) + x.g + p.g;
        let s = theta.abs().max(x.g.abs()).max(p.g.abs());
        let mut gamma = s * ((theta / s).powi(2) - (x.g / s) * (p.g / s)).sqrt();
        if p.st < x.st {
            gamma = -gamma;
        }
        let r = ((gamma - x.g) + theta) / (((gamma - x.g) + gamma) + p.g);
        let stpc = x.st + r * (p.st - x.st);
        let stpq = x.st + ((x.g / ((x.f - p.f) / (p.st - x.st) + x.g)) / 2.0) * (p.st - x.st);
        *brackt = true;
        if (stpc - x.st).abs() <= (stpq - x.st).abs() {
            stpc
        } else {
            stpc + (stpq - stpc) / 2.0
        }
    } else if sgnd < 0.0 {
        // Derivatives of opposite sign: bracketed.
        let theta = 3.0 * (x.f - p.f) / (p.st - x.st) + x.g + p.g;
        let s = theta.abs().max(x.g.abs()).max(p.g.abs());
        let mut gamma = s * ((theta / s).powi(2) - (x.g / s) * (p.g / s)).sqrt();
        if p.st > x.st {
            gamma = -gamma;
        }
        let r = ((gamma - p.g) + theta) / (((gamma - p.g) + gamma) + x.g);
        let stpc = p.st + r * (x.st - p.st);
        let stpq = p.st + (p.g / (p.g - x.g)) * (x.st - p.st);
        *brackt = true;
        if (stpc - p.st).abs() > (stpq - p.st).abs() {
            stpc
        } else {
            stpq
        }
    } else if p.g.abs() < x.g.abs() {
        // Same sign, derivative decreasing in magnitude.
        let theta = 3.0 * (x.f - p.f) / (p.st - x.st) + x.g + p.g;
        let s = theta.abs().max(x.g.abs()).max(p.g.abs());
        let mut gamma = s * ((theta / s).powi(2) - (x.g / s) * (p.g / s)).max(0.0).sqrt();
        if p.st > x.st {
            gamma = -gamma;
        }
        let r = ((gamma - p.g) + theta) / ((gamma + (x.g - p.g)) + gamma);
        let stpc = if r < 0.0 && gamma != 0.0 {
            p.st + r * (x.st - p.st)
        } else if p.st > x.st {
            stpmax
        } else {
            stpmin
        };
        let stpq = p.st + (p.g / (p.g - x.g)) * (x.st - p.st);
        if *brackt {
            let closer = if (stpc - p.st).abs() < (stpq - p.st).abs() { stpc } else { stpq };
            if p.st > x.st {
                closer.min(p.st + 0.66 * (y.st - p.st))
            } else {
                closer.max(p.st + 0.66 * (y.st - p.st))
            }
        } else {
            let farther = if (stpc - p.st).abs() > (stpq - p.st).abs() { stpc } else { stpq };
            farther.clamp(stpmin, stpmax)
        }
    } else if *brackt {
        // Same sign, derivative not decreasing: the cubic through p and y.
        let theta = 3.0 * (p.f - y.f) / (y.st - p.st) + y.g + p.g;
        let s = theta.abs().max(y.g.abs()).max(p.g.abs());
        let mut gamma = s * ((theta / s).powi(2) - (y.g / s) * (p.g / s)).sqrt();
        if p.st > y.st {
            gamma = -gamma;
        }
        let r = ((gamma - p.g) + theta) / (((gamma - p.g) + gamma) + y.g);
        p.st + r * (y.st - p.st)
    } else if p.st > x.st {
        stpmax
    } else {
        stpmin
    };
    if p.f > x.f {
        *y = p;
    } else {
        if sgnd < 0.0 {
            *y = *x;
        }
        *x = p;
    }
    stpf
}
