//! Results at a terminal of 100 columns (a pseudo-terminal made by util-linux `script`): wide
//! results fit it, `--expanded` and `\x` show one field per line, and pipes stay whole.

use crate::{iisql, root};

/// What `iisql ARGS` prints at a 100 x 40 terminal, typing `input` line by line (no pager).
fn at_terminal(args: &str, input: &str) -> String {
    at_terminal_with("PAGER=", args, input)
}

/// [`at_terminal`] with the environment settings `env` (`NAME=VALUE ...`, shell-quoted).
fn at_terminal_with(env: &str, args: &str, input: &str) -> String {
    let bin = assert_cmd::cargo::cargo_bin!("iisql");
    let cmd = format!("stty cols 100 rows 40; {env} exec {} {args}", bin.display());
    crate::in_pty(&cmd, input).replace('\r', "")
}

/// The lines of `out` wider than 100 columns.
fn too_wide(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.chars().count() > 100).collect()
}

#[test]
fn wide_results_fit_a_100_column_terminal() {
    for args in [
        "data/sample -q -c 'SELECT * FROM activesync LIMIT 1'",
        "run cba_cert_missing data/sample -q",
    ] {
        let out = at_terminal(args, "");
        assert!(too_wide(&out).is_empty(), "{args}:\n{out}");
        assert!(out.contains('…'), "{args}:\n{out}");
        assert!(
            out.contains("columns,") && out.contains("shown)"),
            "{args}:\n{out}"
        );
    }
    // The diagnosis: prose wraps, log lines are cut.
    let out = at_terminal("diagnose data/sample -q", "");
    assert!(too_wide(&out).is_empty(), "{out}");
    assert!(
        out.contains("Why this finding:") && out.contains("e.g. "),
        "{out}"
    );
    // At most --max-rows rows, and the count of all.
    let out = at_terminal(
        "data/sample -q --max-rows 5 -c 'SELECT log_row FROM logs LIMIT 12'",
        "",
    );
    assert!(out.contains("(12 rows, 5 shown)"), "{out}");
    // A pipe gets every row and every column, whole.
    let piped = iisql()
        .current_dir(root())
        .args([
            "data/sample",
            "-q",
            "-c",
            "SELECT * FROM activesync LIMIT 1",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let piped = String::from_utf8(piped).unwrap();
    assert!(piped.contains("followed_by_success") && piped.contains("device_id"));
    assert!(!too_wide(&piped).is_empty(), "a pipe is not fitted");
}

#[test]
fn expanded_display_shows_one_field_per_line() {
    let fields = |out: &str| {
        out.lines()
            .filter(|l| l.contains(" | ") && !l.starts_with('|'))
            .count()
    };
    let out = at_terminal(
        "data/sample -q --expanded on -c 'SELECT * FROM activesync LIMIT 1'",
        "",
    );
    assert!(out.contains("-[ RECORD 1 ]"), "{out}");
    assert!(fields(&out) >= 30, "{out}");
    assert!(too_wide(&out).is_empty(), "{out}");
    // \x in the prompt.
    let out = at_terminal(
        "data/sample -q",
        "\\x\nSELECT cs_method, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1 LIMIT 1;\n\\q",
    );
    assert!(out.contains("Expanded display is On."), "{out}");
    assert!(out.contains("cs_method | GET"), "{out}");
}

#[test]
fn results_longer_than_the_screen_go_through_the_pager() {
    let dir = tempfile::tempdir().unwrap();
    let paged = dir.path().join("paged.txt");
    // The pager keeps what it is given: a file shows whether it ran, and with what.
    let pager = format!("PAGER='cat > {}'", paged.display());
    let long = "data/sample -q --max-rows 60 \
                -c 'SELECT log_row FROM logs ORDER BY log_filename, log_row LIMIT 60'";

    // 60 rows at a 40-line terminal: in the pager, not on the screen.
    let out = at_terminal_with(&pager, long, "");
    let text = std::fs::read_to_string(&paged).unwrap_or_default();
    assert!(text.contains("(60 rows)"), "{text}");
    assert!(!out.contains("(60 rows)"), "{out}");
    std::fs::remove_file(&paged).unwrap();

    // --no-pager prints them; a result that fits the screen is printed.
    let out = at_terminal_with(&pager, &format!("{long} --no-pager"), "");
    assert!(out.contains("(60 rows)"), "{out}");
    let out = at_terminal_with(
        &pager,
        "data/sample -q -c 'SELECT count(*) AS n FROM logs'",
        "",
    );
    assert!(out.contains("(1 row)"), "{out}");
    assert!(!paged.exists());

    // \pager off in the prompt, then on again.
    let sql = "SELECT log_row FROM logs ORDER BY log_filename, log_row LIMIT 60;";
    let out = at_terminal_with(
        &pager,
        "data/sample -q --max-rows 60",
        &format!("\\pager off\n{sql}\n\\q"),
    );
    assert!(
        out.contains("Pager is off.") && out.contains("(60 rows)"),
        "{out}"
    );
    assert!(!paged.exists());
    let out = at_terminal_with(
        &pager,
        "data/sample -q --max-rows 60",
        &format!("\\pager off\n\\pager on\n{sql}\n\\q"),
    );
    assert!(out.contains("go through cat >"), "{out}");
    assert!(
        std::fs::read_to_string(&paged)
            .unwrap_or_default()
            .contains("(60 rows)")
    );
    std::fs::remove_file(&paged).unwrap();

    // The diagnosis is longer than a screen too.
    at_terminal_with(&pager, "diagnose data/sample -q", "");
    let text = std::fs::read_to_string(&paged).unwrap_or_default();
    assert!(text.contains("Why this finding:"), "{text}");
}

#[test]
fn results_fit_a_width_asked_for() {
    let wider_than = |out: &str, n: usize| -> Vec<String> {
        out.lines()
            .filter(|l| l.chars().count() > n)
            .map(str::to_string)
            .collect()
    };
    let out = at_terminal(
        "data/sample -q --max-width 60 -c 'SELECT * FROM activesync LIMIT 3'",
        "",
    );
    assert!(wider_than(&out, 60).is_empty(), "{out}");
    assert!(out.contains('…') && out.contains("(3 rows;"), "{out}");
    // \pset maxwidth in the prompt, and back to the terminal's width with 0.
    let sql = "SELECT cs_uri_stem, cs_user_agent FROM logs LIMIT 3;";
    let out = at_terminal(
        "data/sample -q",
        &format!("\\pset maxwidth 50\n\\pset maxrows 2\n{sql}\n\\pset maxwidth 0\n{sql}\n\\q"),
    );
    assert!(out.contains("At most 2 rows are shown."), "{out}");
    assert!(out.contains("(3 rows, 2 shown)"), "{out}");
    assert!(out.contains("Results fit 50 columns."), "{out}");
    assert!(out.contains("Results fit the terminal's width."), "{out}");
    let (narrow, wide) = out.split_once("Results fit the terminal's width.").unwrap();
    // The table's lines (the banner and the echoed input are not the result's).
    let table = |s: &str| {
        s.lines()
            .filter(|l| l.starts_with('|') || l.starts_with('+'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (narrow, wide) = (table(narrow), table(wide));
    assert!(
        !narrow.is_empty() && wider_than(&narrow, 50).is_empty(),
        "{narrow}"
    );
    assert!(!wider_than(&wide, 50).is_empty(), "{wide}");
    assert!(wider_than(&wide, 100).is_empty(), "{wide}");
}
