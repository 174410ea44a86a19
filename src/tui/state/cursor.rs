//! Selection and scrolling of a table that shows `viewport` of its rows at a time: the Sessions
//! and Runs tabs share it.

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Position of the selected row among the filtered rows.
    pub selected: usize,
    /// First row shown.
    pub offset: usize,
    /// Rows shown at once (from the last layout).
    pub viewport: usize,
}

impl Cursor {
    pub fn move_by(&mut self, len: usize, delta: isize) {
        let to = self.selected.saturating_add_signed(delta);
        self.move_to(len, to);
    }

    pub fn move_to(&mut self, len: usize, position: usize) {
        self.selected = position;
        self.clamp(len);
    }

    pub fn set_viewport(&mut self, len: usize, rows: usize) {
        self.viewport = rows.max(1);
        self.clamp(len);
    }

    /// Back to the top (a new filter).
    pub fn reset(&mut self) {
        self.selected = 0;
        self.offset = 0;
    }

    /// Keeps the selection among the rows and on screen.
    pub fn clamp(&mut self, len: usize) {
        self.selected = self.selected.min(len.saturating_sub(1));
        let view = self.viewport.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + view {
            self.offset = self.selected + 1 - view;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selection_stays_among_the_rows_and_on_screen() {
        let mut c = Cursor::default();
        c.set_viewport(10, 3);
        c.move_by(10, 5);
        assert_eq!((c.selected, c.offset), (5, 3));
        c.move_by(10, 100);
        assert_eq!((c.selected, c.offset), (9, 7));
        c.move_by(10, -100);
        assert_eq!((c.selected, c.offset), (0, 0));
        c.move_to(10, 8);
        c.clamp(4);
        assert_eq!(
            (c.selected, c.offset),
            (3, 3),
            "rows filtered away under it"
        );
        c.clamp(0);
        assert_eq!((c.selected, c.offset), (0, 0));
    }
}
