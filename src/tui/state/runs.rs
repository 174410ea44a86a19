//! The Runs tab: run history (ListCommands across the console's profiles and regions) as a
//! table, newest first, with a `/` filter. A task reads it (`tui::run_tasks::spawn_history`);
//! this only holds what it reported.

use super::cursor::Cursor;
use crate::run::CommandSummary;

#[derive(Debug, Clone, Default)]
pub struct RunsState {
    commands: Vec<CommandSummary>,
    /// Indices into `commands` that the filter keeps, newest first.
    rows: Vec<usize>,
    pub input: String,
    pub editing: bool,
    /// Selection and scroll over `rows`.
    pub cursor: Cursor,
    /// Generation of the read in flight, if any.
    pub loading: Option<u64>,
    pub generation: u64,
    /// One sentence per target that could not be read.
    pub problems: Vec<String>,
    pub loaded: bool,
}

impl RunsState {
    pub fn commands(&self) -> &[CommandSummary] {
        &self.commands
    }

    pub fn rows(&self) -> &[usize] {
        &self.rows
    }

    pub fn row(&self, position: usize) -> Option<&CommandSummary> {
        self.rows.get(position).map(|&i| &self.commands[i])
    }

    pub fn selected_command(&self) -> Option<&CommandSummary> {
        self.row(self.cursor.selected)
    }

    /// New rows: the same command stays selected when it is still listed.
    pub fn replace(&mut self, commands: Vec<CommandSummary>) {
        let keep = self.selected_command().map(|c| c.command_id.clone());
        self.commands = commands;
        self.loaded = true;
        self.refilter();
        if let Some(id) = keep
            && let Some(p) = self
                .rows
                .iter()
                .position(|&i| self.commands[i].command_id == id)
        {
            self.cursor.selected = p;
        }
        self.cursor.clamp(self.rows.len());
    }

    pub fn set_input(&mut self, input: String) {
        self.input = input;
        self.refilter();
        self.cursor.reset();
    }

    fn refilter(&mut self) {
        let needle = self.input.trim().to_lowercase();
        self.rows = (0..self.commands.len())
            .filter(|&i| needle.is_empty() || matches(&self.commands[i], &needle))
            .collect();
    }

    pub fn move_by(&mut self, delta: isize) {
        self.cursor.move_by(self.rows.len(), delta);
    }

    pub fn move_to(&mut self, position: usize) {
        self.cursor.move_to(self.rows.len(), position);
    }

    pub fn set_viewport(&mut self, rows: usize) {
        self.cursor.set_viewport(self.rows.len(), rows);
    }
}

/// Words of the filter all appear somewhere in the row (command text, id, status, document,
/// region, profile, who, targets).
fn matches(c: &CommandSummary, needle: &str) -> bool {
    let hay = format!(
        "{} {} {} {} {} {} {} {} {}",
        c.script(),
        c.command_id,
        c.status,
        c.document,
        c.region,
        c.profile,
        c.who.as_deref().unwrap_or(""),
        c.targets.join(" "),
        c.comment,
    )
    .to_lowercase();
    needle.split_whitespace().all(|w| hay.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, script: &str, status: &str) -> CommandSummary {
        CommandSummary {
            command_id: id.into(),
            commands: vec![script.into()],
            status: status.into(),
            region: "us-east-1".into(),
            ..CommandSummary::default()
        }
    }

    #[test]
    fn filter_keeps_matching_rows_and_reload_keeps_the_selection() {
        let mut s = RunsState::default();
        s.set_viewport(5);
        s.replace(vec![
            c("c1", "uptime", "Success"),
            c("c2", "df -h", "Failed"),
            c("c3", "uptime -p", "InProgress"),
        ]);
        s.move_to(2);
        s.replace(vec![
            c("c0", "hostname", "Pending"),
            c("c1", "uptime", "Success"),
            c("c2", "df -h", "Failed"),
            c("c3", "uptime -p", "InProgress"),
        ]);
        assert_eq!(
            s.selected_command().map(|c| c.command_id.as_str()),
            Some("c3")
        );
        s.set_input("uptime".into());
        assert_eq!(s.rows().len(), 2);
        s.set_input("failed df".into());
        assert_eq!(
            s.selected_command().map(|c| c.command_id.as_str()),
            Some("c2")
        );
        s.set_input("nothing-like-it".into());
        assert!(s.selected_command().is_none());
    }
}
