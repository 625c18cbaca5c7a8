//! The reference in `docs/reference/` is rendered by modgate-reference from
//! this binary's CLI definition; these tests keep the committed files current.

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use clap::CommandFactory as _;
    use modgate_env as env;
    use modgate_reference::{cli, configuration, environment, flags_with_env};

    use modgate_cli::Cli;

    /// The committed reference is what the code renders now.
    #[test]
    fn reference_docs_are_current() {
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/reference");
        let bless = std::env::var_os(env::BLESS).is_some();
        let mut stale = Vec::new();
        for (file, text) in [
            ("cli.md", cli(&Cli::command())),
            ("environment.md", environment(&Cli::command())),
            ("configuration.md", configuration(&Cli::command())),
        ] {
            let path = docs.join(file);
            if bless {
                fs_err::write(&path, &text).unwrap();
            } else if fs_err::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(file);
            }
        }
        assert!(
            stale.is_empty(),
            "docs/reference/{stale:?} is stale: run MODGATE_BLESS=1 cargo test -p modgate reference"
        );
    }

    /// Every variable modgate-env declares as its own is some flag's twin,
    /// so the environment reference names the flag of each.
    #[test]
    fn every_own_variable_is_read_by_a_flag() {
        let mut twins = Vec::new();
        flags_with_env(&Cli::command(), "modgate", &mut twins);
        let orphans: Vec<&str> = env::OWN
            .iter()
            .map(|(n, _)| *n)
            // The log filter has no flag: it is for debugging, not for configuration files.
            .filter(|n| *n != env::LOG && !twins.iter().any(|(e, _)| e == n))
            .collect();
        assert!(orphans.is_empty(), "no flag reads {orphans:?}");
        // So serve's --help names it in words.
        let serve = Cli::command();
        let about = serve
            .find_subcommand("serve")
            .and_then(|s| s.get_long_about())
            .map(ToString::to_string);
        assert!(about.unwrap_or_default().contains(env::LOG), "serve --help");
    }

    /// Every other tool's variable modgate reads is named in the --help of
    /// some command (the one that reads it), so no setting is hidden.
    #[test]
    fn every_other_variable_is_named_in_some_help() {
        let help = cli(&Cli::command());
        let unnamed: Vec<&str> = env::OTHER
            .iter()
            .map(|(n, _)| *n)
            // Read when building modgate, by no command.
            .filter(|n| *n != env::SOURCE_DATE_EPOCH && !help.contains(n))
            .collect();
        assert!(unnamed.is_empty(), "no --help names {unnamed:?}");
    }
}
