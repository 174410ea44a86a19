//! Column widths from what the columns hold: each column is as wide as its header and its widest
//! cell, up to a cap; columns that do not fit are dropped, least useful first; the flexible
//! column takes what is left, after columns cut by their cap got their content back.

/// One column's measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// The widest of the header and the measured cells.
    pub want: usize,
    /// The most it gets before the rest of the line is shared out.
    pub cap: usize,
    /// The flexible column may shrink to this (others keep their width or are dropped).
    pub floor: usize,
    pub flex: bool,
    /// Lower is more useful: kept first when the line is short.
    pub rank: usize,
}

impl Spec {
    /// A column as wide as its widest content, up to `cap`.
    pub fn fixed(header: &str, cells: impl IntoIterator<Item = usize>, cap: usize) -> Self {
        let want = cells.into_iter().fold(width(header), usize::max);
        Spec {
            want,
            cap,
            floor: want.min(cap),
            flex: false,
            rank: 0,
        }
    }

    /// The column that takes the rest of the line and gives way first, down to `floor`.
    pub fn flexible(header: &str, cells: impl IntoIterator<Item = usize>, floor: usize) -> Self {
        let want = cells.into_iter().fold(width(header), usize::max);
        Spec {
            want,
            cap: want,
            floor: floor.min(want),
            flex: true,
            rank: 0,
        }
    }

    pub fn rank(self, rank: usize) -> Self {
        Spec { rank, ..self }
    }
}

/// Display width in the console's terms: one column a character.
pub fn width(text: &str) -> usize {
    text.chars().count()
}

/// The width of each column in `available` columns with `spacing` between columns; `None` for
/// a dropped column.
pub fn plan(specs: &[Spec], available: usize, spacing: usize) -> Vec<Option<usize>> {
    let mut order: Vec<usize> = (0..specs.len()).collect();
    order.sort_by_key(|&i| specs[i].rank);
    let mut kept = vec![false; specs.len()];
    let mut used = 0;
    for i in order {
        let need = specs[i].floor + if used == 0 { 0 } else { spacing };
        if used + need <= available {
            used += need;
            kept[i] = true;
        }
    }
    let mut widths: Vec<Option<usize>> = specs
        .iter()
        .zip(&kept)
        .map(|(s, &k)| k.then(|| s.want.min(s.cap).max(s.floor)))
        .collect();
    let count = kept.iter().filter(|&&k| k).count();
    let total = |w: &[Option<usize>]| -> usize {
        w.iter().flatten().sum::<usize>() + spacing * count.saturating_sub(1)
    };
    let flex = specs.iter().zip(&kept).position(|(s, &k)| k && s.flex);
    let current = total(&widths);
    if current > available {
        // Only the flexible column is wider than its floor.
        if let Some(f) = flex
            && let Some(w) = widths[f].as_mut()
        {
            *w = w.saturating_sub(current - available).max(specs[f].floor);
        }
        return widths;
    }
    let mut extra = available - current;
    for (i, s) in specs.iter().enumerate() {
        if let Some(w) = widths[i].as_mut()
            && s.want > *w
        {
            let grow = (s.want - *w).min(extra);
            *w += grow;
            extra -= grow;
        }
    }
    if let Some(f) = flex
        && let Some(w) = widths[f].as_mut()
    {
        *w += extra;
    }
    widths
}

/// The kept columns' items, in table order.
pub fn kept<T>(items: impl IntoIterator<Item = T>, plan: &[Option<usize>]) -> Vec<T> {
    items
        .into_iter()
        .zip(plan)
        .filter_map(|(item, w)| w.map(|_| item))
        .collect()
}

/// The table's constraints for a plan: exact widths, so ratatui shares nothing out again.
pub fn constraints(plan: &[Option<usize>]) -> Vec<ratatui::layout::Constraint> {
    plan.iter()
        .flatten()
        .map(|&w| ratatui::layout::Constraint::Length(u16::try_from(w).unwrap_or(u16::MAX)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_take_their_content_and_the_flexible_one_the_rest() {
        let specs = [
            Spec::fixed("WHO", [17, 3], 32),
            Spec::flexible("HOST", [14], 12),
            Spec::fixed("STATUS", [10], 11),
        ];
        assert_eq!(plan(&specs, 60, 1), [Some(17), Some(31), Some(10)]);
        // Short of room, the flexible column gives way first.
        assert_eq!(plan(&specs, 41, 1), [Some(17), Some(12), Some(10)]);
    }

    #[test]
    fn a_capped_column_gets_its_content_back_before_the_flexible_one_grows() {
        let specs = [
            Spec::flexible("NAME", [20], 12),
            Spec::fixed("PLATFORM", [40], 24),
        ];
        assert_eq!(plan(&specs, 45, 1), [Some(20), Some(24)]);
        assert_eq!(plan(&specs, 55, 1), [Some(20), Some(34)]);
        assert_eq!(plan(&specs, 80, 1), [Some(39), Some(40)]);
    }

    #[test]
    fn least_useful_columns_are_dropped_when_the_line_is_short() {
        let specs = [
            Spec::flexible("NAME", [20], 12).rank(0),
            Spec::fixed("REGION", [9], 14).rank(2),
            Spec::fixed("PING", [16], 16).rank(1),
        ];
        assert_eq!(plan(&specs, 32, 1), [Some(15), None, Some(16)]);
        assert_eq!(plan(&specs, 8, 1), [None, None, None]);
    }
}
