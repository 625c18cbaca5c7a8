//! The reference in `docs/reference/`, rendered from the code: every flag
//! from the clap definition, every environment variable from modgate-env,
//! every configuration key from `modgate serve`'s settings (a key is its
//! flag's id). The binary's test compares the committed files with what is
//! rendered here; `MODGATE_BLESS=1 cargo test -p modgate reference` rewrites them.

use std::fmt::Write as _;

use clap::{Arg, ArgAction, Command};
use modgate_env as env;

const GENERATED: &str = "<!-- Generated from the code by crates/reference: edit the code, then run\n     MODGATE_BLESS=1 cargo test -p modgate reference -->\n";

/// One line of an argument's help, with `|` escaped for a table cell.
fn help(arg: &Arg) -> String {
    let text = arg
        .get_long_help()
        .or(arg.get_help())
        .map(ToString::to_string)
        .unwrap_or_default();
    cell(&text)
}

fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// What an argument takes: its possible values (`text|json`), else its value names.
fn values(arg: &Arg) -> String {
    let possible = arg.get_possible_values();
    if !possible.is_empty() {
        return possible
            .iter()
            .map(|v| v.get_name())
            .collect::<Vec<_>>()
            .join("|");
    }
    arg.get_value_names()
        .map(|names| names.iter().map(ToString::to_string).collect::<Vec<_>>())
        .unwrap_or_else(|| vec![arg.get_id().as_str().to_uppercase()])
        .join(" ")
}

/// `--listen ADDR`, `-o, --out FILE`, `DIR|go.mod|go.sum`.
fn synopsis(arg: &Arg) -> String {
    let takes_value = !matches!(
        arg.get_action(),
        ArgAction::SetTrue | ArgAction::SetFalse | ArgAction::Count | ArgAction::Help
    );
    let value = if takes_value {
        values(arg)
    } else {
        String::new()
    };
    let mut names = Vec::new();
    if let Some(short) = arg.get_short() {
        names.push(format!("-{short}"));
    }
    if let Some(long) = arg.get_long() {
        names.push(format!("--{long}"));
    }
    let mut s = if names.is_empty() {
        value
    } else if value.is_empty() {
        names.join(", ")
    } else {
        format!("{} {value}", names.join(", "))
    };
    if matches!(arg.get_action(), ArgAction::Append) {
        s.push_str(" …");
    }
    format!("`{}`", s.replace('|', "\\|"))
}

fn visible_args(cmd: &Command) -> impl Iterator<Item = &Arg> {
    cmd.get_arguments()
        .filter(|a| !a.is_hide_set() && !matches!(a.get_id().as_str(), "help" | "version"))
}

fn render_command(out: &mut String, cmd: &Command, path: &str) {
    let about = cmd
        .get_long_about()
        .or(cmd.get_about())
        .map(ToString::to_string)
        .unwrap_or_default();
    writeln!(out, "## `{path}`\n\n{}\n", about.trim()).unwrap();
    let args: Vec<&Arg> = visible_args(cmd).collect();
    if !args.is_empty() {
        out.push_str("| argument | environment | default | meaning |\n| --- | --- | --- | --- |\n");
        for arg in args {
            let env = arg
                .get_env()
                .map(|e| format!("`{}`", e.to_string_lossy()))
                .unwrap_or_default();
            let default = arg
                .get_default_values()
                .iter()
                .map(|v| format!("`{}`", v.to_string_lossy()))
                .collect::<Vec<_>>()
                .join(", ");
            writeln!(
                out,
                "| {} | {env} | {default} | {} |",
                synopsis(arg),
                help(arg)
            )
            .unwrap();
        }
        out.push('\n');
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        render_command(out, sub, &format!("{path} {}", sub.get_name()));
    }
}

/// docs/reference/cli.md: every subcommand and flag.
pub fn cli(cmd: &Command) -> String {
    let mut out = format!(
        "# Command-line reference\n\n{GENERATED}\nEvery subcommand of `modgate` and its arguments. `modgate help SUBCOMMAND` \
         says the same; `modgate man` prints it as a manual page. A flag beats its environment \
         variable, which beats the configuration file, which beats the default.\n\n"
    );
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        render_command(&mut out, sub, &format!("modgate {}", sub.get_name()));
    }
    out
}

fn serve(cmd: &Command) -> &Command {
    cmd.find_subcommand("serve").expect("modgate serve")
}

/// Each `(variable, "modgate SUBCOMMAND --flag")` of `cmd` and its subcommands.
pub fn flags_with_env(cmd: &Command, path: &str, out: &mut Vec<(String, String)>) {
    for arg in cmd.get_arguments() {
        if let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) {
            out.push((
                env.to_string_lossy().into_owned(),
                format!("{path} --{long}"),
            ));
        }
    }
    for sub in cmd.get_subcommands() {
        flags_with_env(sub, &format!("{path} {}", sub.get_name()), out);
    }
}

/// docs/reference/environment.md: every variable modgate reads.
pub fn environment(cmd: &Command) -> String {
    let mut twins = Vec::new();
    flags_with_env(cmd, "modgate", &mut twins);
    let flag_of = |name: &str| {
        twins
            .iter()
            .find(|(e, _)| e == name)
            .map(|(_, flag)| format!("`{flag}`"))
            .unwrap_or_default()
    };
    let mut out = format!(
        "# Environment variables\n\n{GENERATED}\n## modgate's own\n\nEach is the twin of a `modgate serve` flag (or of a \
         subcommand's, where named); a `modgate serve` flag beats its variable, which beats the configuration file.\n\n\
         | variable | flag | meaning |\n| --- | --- | --- |\n"
    );
    for (name, what) in env::OWN {
        writeln!(out, "| `{name}` | {} | {} |", flag_of(name), cell(what)).unwrap();
    }
    out.push_str(
        "\n## Other tools' variables\n\nRead as the tool that owns them reads them.\n\n\
         | variable | what modgate does with it |\n| --- | --- |\n",
    );
    for (name, what) in env::OTHER {
        writeln!(out, "| `{name}` | {} |", cell(what)).unwrap();
    }
    for (names, what) in [
        (
            &env::HTTP_PROXY[..],
            "proxy for http:// (upper case wins); doctor honours it as Go's net/http does",
        ),
        (&env::HTTPS_PROXY[..], "proxy for https://"),
        (&env::NO_PROXY[..], "hosts reached without the proxy"),
        (
            &env::ALL_PROXY[..],
            "the proxy for every scheme, as modgate's HTTP client reads it",
        ),
        (
            env::GO_SETTINGS,
            "the go command's settings that `doctor` reads (a non-empty value beats the go env file, as in go)",
        ),
    ] {
        let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        writeln!(out, "| {} | {what} |", names.join(", ")).unwrap();
    }
    writeln!(
        out,
        "\n## Development\n\n| variable | meaning |\n| --- | --- |\n| `{}` | tests: rewrite the generated reference in `docs/reference/` instead of comparing with it |",
        env::BLESS
    )
    .unwrap();
    out
}

/// docs/reference/configuration.md: every key of the `--config` file.
pub fn configuration(cmd: &Command) -> String {
    let serve = serve(cmd);
    let mut out = format!(
        "# Configuration file\n\n{GENERATED}\n`modgate serve --config FILE` (or `MODGATE_CONFIG`) reads a TOML file whose keys are \
         the flags of `modgate serve`, with `_` or `-`: `max_connections` or `max-connections`. \
         A flag beats its environment variable, which beats the file, which beats the default. \
         An unknown key is an error. `deploy/modgate.toml` is a commented example.\n\n\
         Durations are Go's (`300ms`, `1m30s`, `2h`, `1.5h`; units `ns`, `us`, `ms`, `s`, `m`, `h`) \
         plus `d` for 24 hours, written as strings; a bare number is refused. Sizes are a whole number \
         and a unit: `512B`, `64KB`/`64KiB`, `500MB`/`500MiB`, `20GB`/`20GiB`, `1TB`/`1TiB` (`KB` is \
         1000 bytes, `KiB` 1024); a bare number is refused. `modgate config check` checks a file and \
         prints the effective settings.\n\n\
         | key | value | environment | meaning |\n| --- | --- | --- | --- |\n"
    );
    for arg in visible_args(serve).filter(|a| a.get_id() != "config") {
        let value = values(arg);
        let env = arg
            .get_env()
            .map(|e| format!("`{}`", e.to_string_lossy()))
            .unwrap_or_default();
        writeln!(
            out,
            "| `{}` | `{}` | {env} | {} |",
            arg.get_id(),
            value.replace('|', "\\|"),
            help(arg)
        )
        .unwrap();
    }
    out.push_str(
        "\n## Tables\n\n\
         - `[[repo_map]]` with `prefix` and `url`: one `--repo-map PREFIX=URL` rule per table \
         (a string `\"PREFIX=URL\"` in a `repo_map` array works too).\n\
         - `[[policy]]` (file only): module versions denied at the proxy; see \
         [policy and audit](../guides/policy-and-audit.md).\n",
    );
    out
}
