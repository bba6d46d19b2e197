//! The one place results are printed.
//!
//! Results go to standard output, as a table for people or as JSON for
//! scripts: one document per object, one per line, with every field present
//! (`null` when unset) under the API's field names. Notes for people ("signed
//! in as …", "watching …") go to standard error, so a script reading JSON
//! never sees them.

mod json;
mod table;

use std::io::Write;

use clap::ValueEnum;
use serde_json::Value;
use tasktracker_proto::v1;

use crate::workflow::Workflow;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people
    Table,
    /// One JSON document per object, one per line
    Json,
}

/// Prints results in the chosen format.
pub struct Output {
    format: Format,
}

impl Output {
    pub fn new(format: Format) -> Self {
        Self { format }
    }

    /// The format chosen.
    pub fn format(&self) -> Format {
        self.format
    }

    pub fn projects(&self, projects: &[v1::Project]) {
        match self.format {
            Format::Table => print(&table::projects(projects)),
            Format::Json => projects.iter().for_each(|project| json_line(&json::project(project))),
        }
    }

    pub fn project(&self, project: &v1::Project) {
        match self.format {
            Format::Table => print(&table::project(project)),
            Format::Json => json_line(&json::project(project)),
        }
    }

    pub fn tasks(&self, tasks: &[v1::Task], workflow: &Workflow) {
        match self.format {
            Format::Table => print(&table::tasks(tasks, workflow)),
            Format::Json => tasks.iter().for_each(|task| json_line(&json::task(task))),
        }
    }

    pub fn task(&self, task: &v1::Task, workflow: &Workflow) {
        match self.format {
            Format::Table => print(&table::task(task, workflow)),
            Format::Json => json_line(&json::task(task)),
        }
    }

    pub fn user(&self, user: &v1::User, server: &str) {
        match self.format {
            Format::Table => print(&table::user(user, server)),
            Format::Json => json_line(&json::user(user, server)),
        }
    }

    /// One line per change, as it arrives.
    pub fn event(&self, event: &v1::TaskEvent, workflow: &Workflow) {
        match self.format {
            Format::Table => print(&table::event(event, workflow)),
            Format::Json => json_line(&json::event(event)),
        }
    }

    /// A note for the person at the terminal (standard error).
    pub fn note(&self, text: &str) {
        eprintln!("{text}");
    }
}

fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth reporting.
    let _ = writeln!(stdout, "{}", text.trim_end()).and_then(|()| stdout.flush());
}

fn json_line(value: &Value) {
    print(&value.to_string());
}
