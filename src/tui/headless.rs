//! The console drawn without a terminal: benches and tools render frames into ratatui's
//! `TestBackend` through the same [`App::draw`] the terminal loop calls, and read the text back.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::App;

/// An in-memory screen of a fixed size.
pub struct Headless {
    terminal: Terminal<TestBackend>,
}

impl Headless {
    pub fn new(width: u16, height: u16) -> Headless {
        let terminal =
            Terminal::new(TestBackend::new(width, height)).expect("TestBackend never fails");
        Headless { terminal }
    }

    /// One frame, as the console draws it.
    pub fn draw(&mut self, app: &App) {
        self.terminal
            .draw(|frame| app.draw(frame))
            .expect("TestBackend never fails");
    }

    /// What the screen shows, one line per row, trailing spaces trimmed.
    pub fn text(&self) -> String {
        let buffer = self.terminal.backend().buffer();
        let width = usize::from(buffer.area.width.max(1));
        buffer
            .content
            .chunks(width)
            .map(|row| {
                let line: String = row.iter().map(|c| c.symbol()).collect();
                line.trim_end().to_owned()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_the_console_and_reads_it_back() {
        let app = crate::tui::build_app(
            crate::tui::Launch {
                clients: Vec::new(),
                options: crate::aws::ClientOptions::new(None),
                stats: Default::default(),
                config: Default::default(),
                cache: None,
                label: Some("headless".into()),
                notice: None,
            },
            None,
        );
        let mut screen = Headless::new(100, 20);
        screen.draw(&app);
        let text = screen.text();
        assert_eq!(text.split('\n').count(), 20);
        assert!(text.contains("headless"), "{text}");
    }
}
