//! How many runs a side the gate needs to detect a change, from an A/A
//! calibration's noise.
//!
//! Derived here, not taken from a source: the two-sample size for a
//! t-test, `n = 2 (z(1 - a/2) + z(power))^2 (cv / d)^2`, divided by the
//! Mann-Whitney test's asymptotic relative efficiency under normality,
//! 3/pi, and never below the runs whose best exact p reaches `a`.

use super::mann_whitney::{runs_needed, standard_normal_quantile};

/// Runs per side to detect a relative shift `d` of a metric with coefficient
/// of variation `cv`, at two-sided level `alpha` with `power` (in (0, 1):
/// the command line checks it).
pub fn runs_for(cv: f64, d: f64, alpha: f64, power: f64) -> usize {
    let floor = runs_needed(alpha);
    if d <= 0.0 {
        return usize::MAX;
    }
    if d.is_infinite() {
        return floor;
    }
    let z = standard_normal_quantile;
    let t_test = 2.0 * (z(1.0 - alpha / 2.0) + z(power)).powi(2) * (cv / d).powi(2);
    let n = (t_test / (3.0 / std::f64::consts::PI)).ceil();
    (n.min(1e9) as usize).max(floor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recommendation_grows_with_noise() {
        // cv 5%, detect 5%, alpha 0.05, 80% power: 2 * (1.96 + 0.8416)^2 * 1 / 0.955 = 16.4 -> 17
        assert_eq!(runs_for(0.05, 0.05, 0.05, 0.8), 17);
        // very quiet metrics still need the exact test's floor
        assert_eq!(runs_for(0.0001, 0.05, 0.05, 0.8), 4);
        assert_eq!(runs_for(0.0001, 0.05, 0.001, 0.8), 7);
        assert!(runs_for(0.5, 0.05, 0.05, 0.8) > 1000);
    }
}
