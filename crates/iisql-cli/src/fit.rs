//! Results at a terminal, as psql and DuckDB show them: a table that fits the screen's width
//! (long cells cut with `…`, middle columns left out when they cannot fit), at most a screenful
//! of rows with the count of the rest, or one `column | value` line per field (`\x`).
//! Output to a pipe or a file never comes here: it stays whole.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::error::Result;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use unicode_width::UnicodeWidthChar;

use crate::output::visible;

/// Narrowest a column is cut to before columns are left out.
const MIN_COLUMN: usize = 8;

/// When rows are shown one field per line (psql's `\x`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Expanded {
    /// Never: a table.
    Off,
    /// Always.
    On,
    /// When the table would not fit the screen's width.
    Auto,
}

/// The room a result has on the screen.
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    /// Columns of the terminal.
    pub width: usize,
    /// Most rows shown (the rest are counted).
    pub max_rows: usize,
    /// Table or one field per line.
    pub expanded: Expanded,
}

/// The width of the terminal standard output is; `None` when it is not one or its size is
/// unknown.
pub fn stdout_width() -> Option<usize> {
    let (_, cols) = console::Term::stdout().size_checked()?;
    (cols > 0).then_some(usize::from(cols))
}

impl Screen {
    /// The terminal standard output is, with these settings; `None` when its size is unknown.
    pub fn of_stdout(max_rows: usize, expanded: Expanded) -> Option<Self> {
        stdout_width().map(|width| Self {
            width,
            max_rows,
            expanded,
        })
    }
}

/// Display width of `s` on a terminal.
fn width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// `s` cut to `room` columns, ending with `…` when cut.
fn cut(s: &str, room: usize) -> String {
    if width(s) <= room {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > room {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// A cell's text on one line, with no control characters.
fn cell_text(s: &str) -> String {
    visible(&s.replace(['\n', '\r', '\t'], " ")).into_owned()
}

/// The first `max_rows` rows of `stream` as text, with the number of rows in all.
async fn first_rows(
    mut stream: SendableRecordBatchStream,
    max_rows: usize,
) -> Result<(Vec<String>, Vec<Vec<String>>, usize)> {
    let names = stream
        .schema()
        .fields()
        .iter()
        .map(|f| cell_text(f.name()))
        .collect();
    let mut rows = Vec::new();
    let mut total = 0;
    while let Some(batch) = stream.next().await {
        let batch: RecordBatch = batch?;
        for r in 0..batch.num_rows() {
            if rows.len() < max_rows {
                let row = batch
                    .columns()
                    .iter()
                    .map(|c| Ok(cell_text(&array_value_to_string(c, r)?)))
                    .collect::<Result<Vec<_>>>()?;
                rows.push(row);
            }
        }
        total += batch.num_rows();
    }
    Ok((names, rows, total))
}

/// The result of `stream` as text that fits `screen`, footer included, and the number of rows.
pub async fn fitted_text(
    stream: SendableRecordBatchStream,
    screen: Screen,
) -> Result<(String, usize)> {
    let (names, rows, total) = first_rows(stream, screen.max_rows).await?;
    let natural: Vec<usize> = (0..names.len())
        .map(|c| {
            rows.iter()
                .map(|r| width(&r[c]))
                .chain([width(&names[c])])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let table_width = natural.iter().sum::<usize>() + 3 * natural.len() + 1;
    let expanded = match screen.expanded {
        Expanded::On => true,
        Expanded::Off => false,
        Expanded::Auto => table_width > screen.width,
    };
    let (mut text, shown) = if expanded {
        (expanded_text(&names, &rows, screen.width), names.len())
    } else {
        table_text(&names, &rows, natural, screen.width)
    };
    text.push_str(&footer(total, rows.len(), names.len(), shown));
    text.push('\n');
    Ok((text, total))
}

/// `(N rows)`, saying how many rows and columns are shown when not all are.
fn footer(total: usize, rows: usize, columns: usize, shown: usize) -> String {
    let s = |n: usize| if n == 1 { "" } else { "s" };
    let mut parts = vec![format!("{total} row{}", s(total))];
    if rows < total {
        parts[0].push_str(&format!(", {rows} shown"));
    }
    if shown < columns {
        parts.push(format!("{columns} columns, {shown} shown"));
    }
    format!("({})", parts.join("; "))
}

/// The columns to show (by index, `None` for the `…` column of those left out) and their
/// widths, to fit `room`.
fn layout(natural: Vec<usize>, room: usize) -> Vec<(Option<usize>, usize)> {
    let mut widths = natural.clone();
    let total = |ws: &[usize]| ws.iter().sum::<usize>() + 3 * ws.len() + 1;
    // Cut the widest columns first, down to MIN_COLUMN.
    while total(&widths) > room {
        let Some((i, &w)) = widths.iter().enumerate().max_by_key(|(_, w)| **w) else {
            break;
        };
        if w <= MIN_COLUMN {
            break;
        }
        widths[i] = w - 1;
    }
    let all: Vec<(Option<usize>, usize)> = widths
        .iter()
        .copied()
        .enumerate()
        .map(|(i, w)| (Some(i), w))
        .collect();
    if total(&widths) <= room {
        return all;
    }
    // Still too wide: columns from both ends around a `…` column, as many as fit.
    let (mut left, mut right) = (Vec::new(), Vec::new());
    let mut used = 1 + 4; // the outer border and the `…` column
    let (mut i, mut j) = (0, widths.len());
    while i < j {
        let take_left = left.len() <= right.len();
        let k = if take_left { i } else { j - 1 };
        if used + widths[k] + 3 > room {
            break;
        }
        used += widths[k] + 3;
        if take_left {
            left.push((Some(k), widths[k]));
            i += 1;
        } else {
            right.insert(0, (Some(k), widths[k]));
            j -= 1;
        }
    }
    left.push((None, 1));
    left.extend(right);
    // The room left goes back to the columns shown, up to their natural widths.
    let mut spare = room.saturating_sub(used);
    while spare > 0 {
        let mut grew = false;
        for (c, w) in left.iter_mut() {
            if let Some(c) = c
                && spare > 0
                && *w < natural[*c]
            {
                *w += 1;
                spare -= 1;
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    left
}

/// A bordered table of `rows` under `names`, fitted to `room` columns, and how many columns
/// it shows.
fn table_text(
    names: &[String],
    rows: &[Vec<String>],
    natural: Vec<usize>,
    room: usize,
) -> (String, usize) {
    let columns = layout(natural, room);
    let shown = columns.iter().filter(|(c, _)| c.is_some()).count();
    let rule = {
        let mut s = String::from("+");
        for (_, w) in &columns {
            s.push_str(&"-".repeat(w + 2));
            s.push('+');
        }
        s
    };
    let line = |cells: &dyn Fn(usize) -> String| {
        let mut s = String::from("|");
        for (c, w) in &columns {
            let text = match c {
                Some(c) => cut(&cells(*c), *w),
                None => "…".to_string(),
            };
            s.push(' ');
            s.push_str(&text);
            s.push_str(&" ".repeat(w.saturating_sub(width(&text)) + 1));
            s.push('|');
        }
        s
    };
    let mut out = format!("{rule}\n{}\n{rule}\n", line(&|c| names[c].clone()));
    for row in rows {
        out.push_str(&line(&|c| row[c].clone()));
        out.push('\n');
    }
    out.push_str(&rule);
    out.push('\n');
    (out, shown)
}

/// Each row as `-[ RECORD n ]-` and one `name | value` line per field, fitted to `room`.
fn expanded_text(names: &[String], rows: &[Vec<String>], room: usize) -> String {
    let name_w = names.iter().map(|n| width(n)).max().unwrap_or(0);
    let value_room = room.saturating_sub(name_w + 3).max(MIN_COLUMN);
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let head = format!("-[ RECORD {} ]", i + 1);
        let fill = room
            .min(name_w + 3 + value_room)
            .saturating_sub(width(&head));
        out.push_str(&format!("{head}{}\n", "-".repeat(fill)));
        for (name, value) in names.iter().zip(row) {
            let pad = " ".repeat(name_w - width(name));
            out.push_str(&format!("{name}{pad} | {}\n", cut(value, value_room)));
        }
    }
    out
}

/// `text` with every line at most `room` columns wide: a log line (indented 8 spaces, as the
/// diagnosis prints them) is cut with `…`; prose wraps at spaces, its continuation lines
/// indented past the line's own indent and label (`   Why this finding: `).
pub fn fit_lines(text: &str, room: usize) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if width(line) <= room {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if line.starts_with("        ") || line.trim_start().starts_with("e.g. ") {
            out.push_str(&cut(line, room));
            out.push('\n');
            continue;
        }
        let own = line.len() - line.trim_start().len();
        let hang = " ".repeat((own + 3).min(room / 2));
        let mut current = line[..own].to_string();
        for word in line.trim_start().split(' ') {
            let started = !current.trim().is_empty();
            if started && width(&current) + 1 + width(word) > room {
                out.push_str(current.trim_end());
                out.push('\n');
                current = hang.clone();
            } else if started {
                current.push(' ');
            }
            current.push_str(&cut(word, room.saturating_sub(hang.len()).max(MIN_COLUMN)));
        }
        out.push_str(current.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize, cols: usize, len: usize) -> (Vec<String>, Vec<Vec<String>>) {
        let names = (0..cols).map(|c| format!("col_{c}")).collect();
        let rows = (0..n)
            .map(|r| {
                (0..cols)
                    .map(|c| format!("{r}{c}{}", "x".repeat(len)))
                    .collect()
            })
            .collect();
        (names, rows)
    }

    fn natural(names: &[String], rows: &[Vec<String>]) -> Vec<usize> {
        (0..names.len())
            .map(|c| {
                rows.iter()
                    .map(|r| width(&r[c]))
                    .chain([width(&names[c])])
                    .max()
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn a_wide_table_fits_with_cut_cells_and_left_out_columns() {
        for (cols, len) in [(3, 300), (30, 20), (2, 5)] {
            let (names, rows) = rows(3, cols, len);
            let (text, shown) = table_text(&names, &rows, natural(&names, &rows), 100);
            for line in text.lines() {
                assert!(width(line) <= 100, "{} > 100: {line}", width(line));
            }
            if len == 300 {
                assert!(text.contains('…'));
            }
            if cols == 30 {
                assert!(shown < cols && shown > 2, "{shown}");
                assert!(
                    text.contains("| col_0 ") && text.contains("| col_29 "),
                    "{text}"
                );
            }
            if cols == 2 {
                assert!(!text.contains('…'), "{text}");
                assert_eq!(shown, 2);
            }
        }
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("日本語テキスト", 5), "日本…");
        assert_eq!(
            footer(100, 40, 30, 8),
            "(100 rows, 40 shown; 30 columns, 8 shown)"
        );
        assert_eq!(footer(1, 1, 3, 3), "(1 row)");
    }

    #[test]
    fn report_lines_wrap_or_are_cut() {
        let text = format!(
            "   Why this finding: {}\n        {}\nshort\n",
            "word ".repeat(40),
            "x".repeat(300)
        );
        let fitted = fit_lines(&text, 60);
        assert!(fitted.lines().all(|l| width(l) <= 60), "{fitted}");
        assert_eq!(fitted.matches("word").count(), 40, "every word kept");
        assert!(fitted.starts_with("   Why this finding: word"), "{fitted}");
        assert!(fitted.lines().nth(1).unwrap().starts_with("      word"));
        assert!(fitted.contains("xxx…\n"));
        assert!(fitted.ends_with("short\n"));
    }

    #[test]
    fn expanded_rows_are_one_field_per_line() {
        let (names, rows) = rows(2, 3, 300);
        let text = expanded_text(&names, &rows, 60);
        assert!(text.starts_with("-[ RECORD 1 ]"));
        assert_eq!(text.lines().count(), 2 * (1 + 3));
        assert!(text.lines().all(|l| width(l) <= 60), "{text}");
        assert!(text.contains("col_2 | 12xx"), "{text}");
    }
}
