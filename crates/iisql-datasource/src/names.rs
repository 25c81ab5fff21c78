//! What a file's name says: a log (`*.log`, compressed or not), a zip archive, a compression.
//! Folder walks, detection, the opener and checkpoints all decide by these, and nothing here
//! depends on the rest of the crate.

use datafusion::datasource::file_format::file_compression_type::FileCompressionType;

/// Whether a file name looks like a log (`*.log`, or `*.log.gz`, `.log.zst`, `.log.bz2`,
/// `.log.xz` for compressed ones; case-insensitive).
pub fn is_log_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let ext = compression_by_name(&lower).map_or(0, |(e, _)| e.len());
    lower[..lower.len() - ext].ends_with(".log")
}

/// Whether `name` is a zip archive (`*.zip`, case-insensitive).
pub fn is_zip(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".zip")
}

/// The compression of one file: the table's, or when the table declares none, the one its
/// name ends with (`.gz`, `.zst`, `.bz2`, `.xz`).
pub fn file_compression(table: FileCompressionType, location: &str) -> FileCompressionType {
    if table.is_compressed() {
        return table;
    }
    compression_by_name(location).map_or(table, |(_, c)| c)
}

/// The compression a file name ends with (`.gz`, `.zst`, `.bz2`, `.xz`, any case), and that
/// extension.
pub fn compression_by_name(name: &str) -> Option<(&'static str, FileCompressionType)> {
    let lower = name.to_ascii_lowercase();
    [
        (".gz", FileCompressionType::GZIP),
        (".zst", FileCompressionType::ZSTD),
        (".bz2", FileCompressionType::BZIP2),
        (".xz", FileCompressionType::XZ),
    ]
    .into_iter()
    .find(|(ext, _)| lower.ends_with(ext))
}
