//! `.zip` archives of logs, read member by member: each log member is a file of its own (its
//! `log_filename` is `archive.zip/member`), decompressed as it is read.

use std::io::{Read, Seek};

use tokio::sync::mpsc::{Receiver, Sender, channel};

use iis_log::detect::{DETECT_BYTES, detect};

use crate::names::is_log_file;

/// The table a member's first bytes say it belongs to (`logs` for an empty one).
fn member_table(head: &[u8]) -> &'static str {
    detect(head).map_or("logs", |d| d.table_name())
}

/// Calls `f(name, head, rest)` for each log member of the archive read from `source`, in
/// archive order: `head` holds its first bytes (up to 64 KiB), `rest` reads the others. With
/// `table`, only members whose content is of that table (`logs`, `httperr`...) are given.
/// `f` returns `false` to stop.
pub fn for_each_member<R: Read + Seek>(
    source: R,
    table: Option<&str>,
    mut f: impl FnMut(&str, Vec<u8>, &mut dyn Read) -> std::io::Result<bool>,
) -> std::io::Result<()> {
    let mut archive = zip::ZipArchive::new(source).map_err(std::io::Error::other)?;
    for i in 0..archive.len() {
        let member = archive.by_index(i).map_err(std::io::Error::other)?;
        let name = member.name().map_err(std::io::Error::other)?.into_owned();
        if member.is_dir() || !is_log_file(&name) {
            continue;
        }
        let mut member = decompressed(&name, member)?;
        let mut head = Vec::with_capacity(DETECT_BYTES);
        (&mut member)
            .take(DETECT_BYTES as u64)
            .read_to_end(&mut head)?;
        if table.is_some_and(|t| member_table(&head) != t) {
            continue;
        }
        if !f(&name, head, &mut member)? {
            break;
        }
    }
    Ok(())
}

/// A member's bytes, decompressed as its name says: `u_ex240115.log.gz` is read through gzip.
/// Other compressions inside an archive are refused with the member's name, not read as text.
fn decompressed<'a, R: Read + 'a>(name: &str, member: R) -> std::io::Result<Box<dyn Read + 'a>> {
    match crate::names::compression_by_name(name) {
        None => Ok(Box::new(member)),
        Some((".gz", _)) => Ok(Box::new(flate2::read::MultiGzDecoder::new(member))),
        Some((ext, _)) => Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!("{name}: {ext} members of a .zip are not read (gzip is); unpack the archive"),
        )),
    }
}

/// The tables the log members of an archive belong to, by content.
pub fn member_tables<R: Read + Seek>(source: R) -> std::io::Result<Vec<&'static str>> {
    let mut out = Vec::new();
    for_each_member(source, None, |_, head, _| {
        let t = member_table(&head);
        if !out.contains(&t) {
            out.push(t);
        }
        Ok(true)
    })?;
    Ok(out)
}

/// One member handed from the reading thread: its name and its bytes, piece by piece.
pub(crate) struct Member {
    /// `archive/member`.
    pub name: String,
    /// Its bytes, as the thread reads them; the channel closes at the member's end.
    pub bytes: Receiver<std::io::Result<Vec<u8>>>,
}

/// Starts a thread that reads the archive's log members (of `table`, if given) one after the
/// other; members arrive on the returned channel, their bytes through each member's reader.
/// Memory stays bounded: the thread waits while a few pieces are unread.
pub(crate) fn read_members<R: Read + Seek + Send + 'static>(
    source: R,
    archive: String,
    table: Option<String>,
) -> Receiver<std::io::Result<Member>> {
    let (tx, rx) = channel::<std::io::Result<Member>>(1);
    // A thread of its own: zip reading is blocking; the scan awaits the channels.
    std::thread::spawn(move || {
        let result = for_each_member(source, table.as_deref(), |name, head, rest| {
            let (btx, brx) = channel(4);
            let member = Member {
                name: format!("{archive}/{name}"),
                bytes: brx,
            };
            if tx.blocking_send(Ok(member)).is_err() {
                return Ok(false);
            }
            Ok(send_all(&btx, head, rest))
        });
        if let Err(e) = result {
            let _ = tx.blocking_send(Err(std::io::Error::new(
                e.kind(),
                format!("{archive}: {e}"),
            )));
        }
    });
    rx
}

/// Sends `head` and the rest of a member; `false` once the reader went away.
fn send_all(tx: &Sender<std::io::Result<Vec<u8>>>, head: Vec<u8>, rest: &mut dyn Read) -> bool {
    if !head.is_empty() && tx.blocking_send(Ok(head)).is_err() {
        return false;
    }
    loop {
        let mut buf = vec![0u8; 256 << 10];
        match iis_log::read_some(rest, &mut buf) {
            Ok(0) => return true,
            Ok(n) => {
                buf.truncate(n);
                if tx.blocking_send(Ok(buf)).is_err() {
                    return false;
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return true;
            }
        }
    }
}
