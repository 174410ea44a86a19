//! Fitting the tab bar into its line. The active tab must stay whole — its number, title and
//! status are how a person knows which host they type into and whether it is live — so other
//! tabs' titles are shortened first, then the bar scrolls around the active tab with `‹N` / `N›`
//! saying how many tabs are hidden on each side.

use super::fit;

/// One tab's label in parts: only the title may be shortened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub number: usize,
    pub title: String,
    /// What follows the title: `· live`, a count, a spinner…, with its leading space.
    pub status: String,
}

impl Label {
    fn text(&self, title_width: usize) -> String {
        format!(
            " {} {}{} ",
            self.number,
            fit(&self.title, title_width),
            self.status
        )
    }

    fn width(&self, title_width: usize) -> usize {
        self.text(title_width).chars().count()
    }
}

/// What the bar draws: labels (with whether each is the active one) and the hidden counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Strip {
    pub hidden_left: usize,
    pub tabs: Vec<(String, bool)>,
    pub hidden_right: usize,
}

#[cfg(test)]
impl Strip {
    /// The width the bar takes: labels, a space after each, and the markers.
    pub fn width(&self) -> usize {
        self.tabs
            .iter()
            .map(|(t, _)| t.chars().count() + 1)
            .sum::<usize>()
            + marker_width(self.hidden_left)
            + marker_width(self.hidden_right)
    }
}

/// Inactive titles are not shortened below this (a title this short is shown whole).
const MIN_TITLE: usize = 8;

/// `‹3 ` / `3› `: the marker's width, nothing when no tab is hidden on that side.
pub fn marker_width(hidden: usize) -> usize {
    if hidden == 0 {
        0
    } else {
        hidden.to_string().chars().count() + 2
    }
}

/// Lays `labels` out in `width` columns with `labels[active]` whole.
pub fn layout(labels: &[Label], active: usize, width: usize) -> Strip {
    let active = active.min(labels.len().saturating_sub(1));
    let longest = labels
        .iter()
        .map(|l| l.title.chars().count())
        .max()
        .unwrap_or(0);
    // The widest cap on inactive titles that lets every tab fit; else the narrowest.
    let total = |cap: usize| -> usize {
        labels
            .iter()
            .enumerate()
            .map(|(i, l)| l.width(if i == active { usize::MAX } else { cap }) + 1)
            .sum()
    };
    let floor = MIN_TITLE.min(longest);
    let cap = (floor..=longest)
        .rev()
        .find(|&c| total(c) <= width)
        .unwrap_or(floor);
    let widths: Vec<usize> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| l.width(if i == active { usize::MAX } else { cap }) + 1)
        .collect();
    // Grow a window around the active tab, the next tabs first, while it fits with its markers.
    let (mut from, mut to) = (active, active + 1);
    let fits = |from: usize, to: usize| {
        widths[from..to].iter().sum::<usize>()
            + marker_width(from)
            + marker_width(labels.len() - to)
            <= width
    };
    loop {
        if to < labels.len() && fits(from, to + 1) {
            to += 1;
        } else if from > 0 && fits(from - 1, to) {
            from -= 1;
        } else {
            break;
        }
    }
    let mut tabs: Vec<(String, bool)> = (from..to)
        .map(|i| {
            let title = if i == active { usize::MAX } else { cap };
            (labels[i].text(title), i == active)
        })
        .collect();
    let strip_width = |tabs: &[(String, bool)]| -> usize {
        tabs.iter()
            .map(|(t, _)| t.chars().count() + 1)
            .sum::<usize>()
            + marker_width(from)
            + marker_width(labels.len() - to)
    };
    // The active tab alone is too wide: its title gives way, then (a very narrow bar) the rest.
    if strip_width(&tabs) > width
        && let Some(l) = labels.get(active)
    {
        let over = strip_width(&tabs) - width;
        let title = l.title.chars().count().saturating_sub(over).max(1);
        let text = l.text(title);
        let room = width.saturating_sub(marker_width(from) + marker_width(labels.len() - to) + 1);
        tabs = vec![(fit(&text, room), true)];
    }
    Strip {
        hidden_left: from,
        tabs,
        hidden_right: labels.len() - to,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(number: usize, title: &str, status: &str) -> Label {
        Label {
            number,
            title: title.into(),
            status: status.into(),
        }
    }

    fn tabs(n: usize) -> Vec<Label> {
        let mut v = vec![label(1, "Fleet", " 60")];
        v.extend((2..=n).map(|i| label(i, &format!("auth-api-prod-{i:02}"), " · live")));
        v
    }

    fn line(s: &Strip) -> String {
        let mut out = String::new();
        if s.hidden_left > 0 {
            out.push_str(&format!("‹{} ", s.hidden_left));
        }
        for (t, _) in &s.tabs {
            out.push_str(t);
            out.push(' ');
        }
        if s.hidden_right > 0 {
            out.push_str(&format!("{}› ", s.hidden_right));
        }
        out
    }

    #[test]
    fn everything_fits_untouched() {
        let s = layout(&tabs(3), 2, 200);
        assert_eq!(
            line(&s),
            " 1 Fleet 60   2 auth-api-prod-02 · live   3 auth-api-prod-03 · live  "
        );
        assert_eq!(s.width(), line(&s).chars().count());
    }

    #[test]
    fn other_titles_shrink_before_the_active_one() {
        let s = layout(&tabs(5), 3, 110);
        let text = line(&s);
        assert!(text.contains(" 4 auth-api-prod-04 · live "), "{text}");
        assert!(text.contains(" 5 auth-api-p… · live "), "{text}");
        assert_eq!((s.hidden_left, s.hidden_right), (0, 0));
        assert!(s.width() <= 110);
    }

    #[test]
    fn the_bar_scrolls_to_keep_the_active_tab_whole() {
        for active in 0..12 {
            for width in [40, 60, 80, 160] {
                let labels = tabs(12);
                let s = layout(&labels, active, width);
                assert!(s.width() <= width, "{active} at {width}: {}", line(&s));
                let shown = &s.tabs.iter().find(|(_, a)| *a).expect("active shown").0;
                assert_eq!(*shown, labels[active].text(usize::MAX), "at {width}");
                assert_eq!(s.hidden_left + s.tabs.len() + s.hidden_right, 12);
            }
        }
        let s = layout(&tabs(12), 11, 80);
        assert!(s.hidden_left > 0 && s.hidden_right == 0, "{}", line(&s));
        let s = layout(&tabs(12), 0, 80);
        assert!(s.hidden_left == 0 && s.hidden_right > 0, "{}", line(&s));
    }

    #[test]
    fn an_active_tab_wider_than_the_bar_keeps_number_and_status() {
        let labels = vec![
            label(1, "Fleet", " 9"),
            label(2, &"x".repeat(80), " · closed: exit status 0"),
        ];
        let s = layout(&labels, 1, 60);
        let (text, active) = &s.tabs[0];
        assert!(active);
        assert!(text.starts_with(" 2 x"), "{text}");
        assert!(text.ends_with("· closed: exit status 0 "), "{text}");
        assert!(s.width() <= 60, "{}", line(&s));
    }
}
