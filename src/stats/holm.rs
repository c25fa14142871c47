//! Holm's step-down correction (Holm 1979): strong control of the
//! family-wise error rate across every test of one gate run, uniformly more
//! powerful than Bonferroni (S. Holm, "A simple sequentially rejective
//! multiple test procedure", Scand. J. Statist. 6(2), 1979; R `p.adjust`).

/// Holm-adjusted p-values, in the order of `ps`: for the i-th smallest p
/// (1-based), `max over j <= i of min(1, (m - j + 1) * p_(j))`. A test is
/// significant at level alpha when its adjusted p is <= alpha. NaN inputs
/// are treated as 1.
pub fn holm(ps: &[f64]) -> Vec<f64> {
    let m = ps.len();
    let clean = |p: f64| if p.is_nan() { 1.0 } else { p };
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| clean(ps[a]).total_cmp(&clean(ps[b])));
    let mut adjusted = vec![1.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        let a = ((m - rank) as f64 * clean(ps[i])).min(1.0);
        running = running.max(a);
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm")
    /// = 0.03 0.06 0.06 0.02
    #[test]
    fn matches_r_p_adjust() {
        let adj = holm(&[0.01, 0.04, 0.03, 0.005]);
        let expected = [0.03, 0.06, 0.06, 0.02];
        for (a, e) in adj.iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{adj:?}");
        }
    }

    #[test]
    fn single_test_is_unchanged_and_caps_at_one() {
        assert_eq!(holm(&[0.2]), [0.2]);
        assert_eq!(holm(&[0.6, 0.7]), [1.0, 1.0]);
        assert!(holm(&[]).is_empty());
    }
}
