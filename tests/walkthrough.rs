//! README's "first real campaign in five minutes", run as written: the
//! block between the `walkthrough` markers goes to `bash -euo pipefail`
//! from the repository's root, with `SAMPARK` set to this build's binary
//! (the block builds one itself otherwise). It must finish with every
//! contact recorded, well inside a few minutes.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The shell block of README's walkthrough.
fn walkthrough(readme: &str) -> String {
    let begin = readme
        .find("<!-- walkthrough:begin -->")
        .expect("README has the walkthrough:begin marker");
    let end = readme
        .find("<!-- walkthrough:end -->")
        .expect("README has the walkthrough:end marker");
    let block = &readme[begin..end];
    let code = block
        .split_once("```sh\n")
        .expect("the walkthrough is a ```sh block")
        .1;
    code.split_once("```").expect("the block ends").0.to_owned()
}

#[test]
fn the_readme_walkthrough_runs_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let script = walkthrough(&readme);
    let work = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (work.path().join("out"), work.path().join("err"));
    // Its own process group, so a hung run can be stopped whole (the
    // simulator and the daemon run in the background of the script).
    let mut child = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(root)
        .env("SAMPARK", env!("CARGO_BIN_EXE_sampark"))
        .env("TMPDIR", work.path())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .process_group(0)
        .spawn()
        .expect("bash runs");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(240) {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = Command::new("redis-cli")
                .args(["-p", "6390", "shutdown", "nosave"])
                .status();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let out = std::fs::read_to_string(&out_path).unwrap_or_default();
    let err = std::fs::read_to_string(&err_path).unwrap_or_default();
    let logs = ["serve.log", "simulator.log"].map(|f| {
        let path = root.join(f);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        text
    });
    let tail = |text: &str| {
        text.chars()
            .rev()
            .take(4_000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<String>()
    };
    assert!(
        status.is_some_and(|s| s.success()),
        "the walkthrough failed or hung ({status:?}):\n{}\n{}\nserve.log:\n{}\nsimulator.log:\n{}",
        tail(&out),
        tail(&err),
        tail(&logs[0]),
        tail(&logs[1])
    );
    // The submission, the watched status at the end, and the records.
    assert!(out.contains("first-campaign"), "{out}");
    assert!(out.contains("finished"), "{out}");
    let last_status = out.rsplit("campaign first-campaign").next().unwrap_or("");
    assert!(
        last_status.contains("contacts  20") && last_status.contains("finished  20"),
        "the last status shows every contact finished:\n{last_status}"
    );
    assert!(
        out.contains("\"record_id\""),
        "no feedback records read:\n{out}"
    );
    // No phone number in the daemon's log.
    assert!(!logs[0].contains("9861000001"), "{}", logs[0]);
}
