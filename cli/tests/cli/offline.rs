//! What needs no server: completions, usage errors, an unreachable server.

use crate::helpers::binary;

/// Runs the binary with an empty configuration directory (never created).
fn run_with(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(binary())
        .args(args)
        .env_clear()
        .env("HOME", std::env::temp_dir())
        .env("XDG_CONFIG_HOME", std::env::temp_dir().join(format!("tasktracker-none-{}", uuid::Uuid::now_v7())))
        .envs(env.iter().copied())
        .output()
        .expect("runs")
}

fn run(args: &[&str]) -> std::process::Output {
    run_with(args, &[])
}

#[test]
fn completions_are_generated_for_each_shell() {
    for (shell, marker) in
        [("bash", "complete -F"), ("zsh", "#compdef tasktracker"), ("fish", "complete -c tasktracker")]
    {
        let output = run(&["completions", shell]);
        assert!(output.status.success(), "{shell}: {output:?}");
        let script = String::from_utf8(output.stdout).unwrap();
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("watch") && script.contains("filter"), "{shell} completes subcommands and flags");
    }
    assert_eq!(run(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn usage_errors_exit_with_2() {
    // Unknown flag, missing argument: the parser's own errors.
    assert_eq!(run(&["tasks", "list", "--bogus"]).status.code(), Some(2));
    assert_eq!(run(&["tasks", "update", "projects/p/tasks/t"]).status.code(), Some(2), "an update changes something");
    let output = run(&["--server", "ftp://example.com", "whoami"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("http://"), "{output:?}");
}

#[test]
fn an_unreachable_server_exits_with_1() {
    // https:// sets up TLS first (rustls with the web PKI's roots), then fails the same way.
    for server in ["http://127.0.0.1:1", "https://127.0.0.1:1"] {
        let output = run_with(&["whoami", "--server", server], &[("TASKTRACKER_TOKEN", "anything")]);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains(&format!("cannot connect to {server}")), "{output:?}");
    }
}

#[test]
fn help_documents_the_exit_codes() {
    let output = run(&["--help"]);
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("Exit codes:") && help.contains("4  conflict"), "{help}");
}
