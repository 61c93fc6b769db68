//! `amsync completions <shell>` and `amsync manpages <dir>`: the shell
//! completion scripts (clap_complete) and the man pages (clap_mangen),
//! generated from the command line's own definition (`crate::args`), so
//! they cannot drift from it. The Debian package ships both
//! (scripts/package.sh writes them).

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::args::Cli;
use crate::exit::{CliError, CliResult};

/// The completion script for `shell`, as text.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "amsync", &mut out);
    out
}

/// Prints the completion script for `shell`.
pub fn completions(shell: Shell) -> CliResult<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&completion_script(shell))?;
    stdout.flush()?;
    Ok(())
}

/// Writes `amsync.1` and a page per subcommand (`amsync-serve.1`,
/// `amsync-sso-mint-token.1`, …) into `out`; returns the files written.
pub fn write_manpages(out: &Path) -> CliResult<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(out)
        .map_err(|e| CliError::failure(format!("cannot create the directory {}: {e}", out.display())))?;
    clap_mangen::generate_to(Cli::command(), out)
        .map_err(|e| CliError::failure(format!("cannot write the man pages into {}: {e}", out.display())))?;
    let mut files: Vec<_> = std::fs::read_dir(out)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "1"))
        .collect();
    files.sort();
    Ok(files)
}

/// `amsync manpages <dir>`.
pub fn manpages(out: &Path) -> CliResult<()> {
    let files = write_manpages(out)?;
    println!("Wrote {} man pages into {}.", files.len(), out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every subcommand, as a path of names (`["sso", "mint-token"]`),
    /// walked from the definition itself.
    fn subcommand_paths() -> Vec<Vec<String>> {
        fn walk(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                let mut path = prefix.to_vec();
                path.push(sub.get_name().to_string());
                walk(sub, &path, out);
                out.push(path);
            }
        }
        let mut out = Vec::new();
        walk(&Cli::command(), &[], &mut out);
        out
    }

    /// What the top-level man page and the completion scripts must name:
    /// every subcommand, nested ones included. The list is written out so
    /// that a subcommand added to `args.rs` fails this test until it is
    /// added here (and so reviewed for its man page and completions).
    const EVERY_SUBCOMMAND: &[&str] = &[
        "init",
        "demo",
        "serve",
        "worker",
        "refresh",
        "status",
        "migrate",
        "check",
        "backup",
        "sim-ams",
        "sso",
        "sso mint-token",
        "bench",
        "bench refresh",
        "bench dashboard",
        "bench access",
        "bench rules",
        "bench login",
        "completions",
        "manpages",
    ];

    #[test]
    fn the_list_is_every_subcommand_of_the_definition() {
        let mut defined: Vec<String> = subcommand_paths().iter().map(|p| p.join(" ")).collect();
        let mut listed: Vec<String> = EVERY_SUBCOMMAND.iter().map(|s| s.to_string()).collect();
        defined.sort();
        listed.sort();
        assert_eq!(defined, listed);
    }

    #[test]
    fn man_pages_name_every_subcommand() {
        let dir = tempfile::tempdir().unwrap();
        let files = write_manpages(dir.path()).unwrap();
        let names: Vec<String> = files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
        let main = std::fs::read_to_string(dir.path().join("amsync.1")).unwrap();
        assert!(main.contains(".TH amsync 1 ") && main.contains(crate::args::VERSION), "{main}");
        for path in EVERY_SUBCOMMAND {
            let name = format!("amsync-{}", path.replace(' ', "-"));
            let page = format!("{name}.1");
            assert!(names.contains(&page), "no man page {page} among {names:?}");
            let text = std::fs::read_to_string(dir.path().join(&page)).unwrap();
            assert!(text.contains(&format!(".TH {name} 1 ")), "{page} is its man page: {text}");
            assert!(text.contains(crate::args::VERSION), "{page} names the version: {text}");
            // The parent's page lists it (roff escapes '-': "amsync\-sso\-mint\-token(1)").
            let parent = match path.rsplit_once(' ') {
                Some((parent, _)) => format!("amsync-{}.1", parent.replace(' ', "-")),
                None => "amsync.1".to_string(),
            };
            let listing = std::fs::read_to_string(dir.path().join(&parent)).unwrap();
            assert!(listing.contains(&format!("{}(1)", name.replace('-', "\\-"))), "{parent} does not list {path}");
        }
        assert_eq!(names.len(), EVERY_SUBCOMMAND.len() + 1, "one page per subcommand and amsync.1: {names:?}");
    }

    #[test]
    fn completions_name_every_subcommand() {
        let bash = String::from_utf8(completion_script(Shell::Bash)).unwrap();
        let zsh = String::from_utf8(completion_script(Shell::Zsh)).unwrap();
        let fish = String::from_utf8(completion_script(Shell::Fish)).unwrap();
        for path in EVERY_SUBCOMMAND {
            let words: Vec<&str> = path.split(' ').collect();
            let leaf = words[words.len() - 1];
            // bash: a case per subcommand, under its parent's state
            // ("amsync__subcmd__sso,mint-token)").
            let parent: String = words[..words.len() - 1]
                .iter()
                .map(|w| format!("__subcmd__{}", w.replace('-', "__subcmd__")))
                .collect();
            let bash_case = format!("amsync{parent},{leaf})");
            assert!(bash.contains(&bash_case), "bash lacks {path} ({bash_case})");
            // zsh: "'mint-token:Prints a test token…'" in its parent's list.
            assert!(zsh.contains(&format!("'{leaf}:")), "zsh lacks {path}");
            // fish: offered after its parent.
            let after = match words.len() {
                1 => "__fish_amsync_needs_command\"".to_string(),
                _ => format!("__fish_amsync_using_subcommand {}; and not", words[..words.len() - 1].join(" ")),
            };
            let offered = fish.lines().any(|l| l.contains(&after) && l.contains(&format!("-a \"{leaf}\"")));
            assert!(offered, "fish lacks {path}");
        }
        // The options of a nested subcommand are completed too.
        for (shell, script) in [("bash", &bash), ("zsh", &zsh), ("fish", &fish)] {
            assert!(script.contains("ttl-s"), "{shell} lacks sso mint-token's --ttl-s");
        }
    }
}
