//! Small text formats shared by the CLI and the TUI.

use chrono::{DateTime, Utc};

/// "42s", "5m", "3h", "2d": how long ago, in the largest unit that is at least 1.
pub fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - since).num_seconds().max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// `text` as one word for a POSIX shell: as it is when plainly safe, else single-quoted.
pub fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=@%+,".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// "42s", "3m07s", "1h05m": how long something lasted or has run.
pub fn duration(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_two_units_at_most() {
        let d = chrono::Duration::seconds;
        assert_eq!(duration(d(42)), "42s");
        assert_eq!(duration(d(187)), "3m07s");
        assert_eq!(duration(d(3900)), "1h05m");
        assert_eq!(duration(d(-5)), "0s");
    }

    #[test]
    fn ages_pick_the_largest_unit() {
        let now = Utc::now();
        assert_eq!(age(now - chrono::Duration::seconds(5), now), "5s");
        assert_eq!(age(now - chrono::Duration::minutes(90), now), "1h");
        assert_eq!(age(now - chrono::Duration::days(3), now), "3d");
        assert_eq!(age(now + chrono::Duration::seconds(5), now), "0s");
    }
}
