//! `Utf8View` columns whose values are spans of one chunk buffer, built view by view.
//!
//! Arrow's `StringViewBuilder` looks its block up and dispatches on the value's length for
//! every value; a text column of a chunk has a single block, so each view is made here from
//! one 16-byte load: the value's bytes inline when it is at most 12 bytes long, else its first
//! four bytes and its offset in the chunk.

use arrow_array::StringViewArray;
use arrow_buffer::{Buffer, NullBufferBuilder, ScalarBuffer};

/// The longest value a view holds inline.
const MAX_INLINE: usize = 12;

/// Views into one buffer (block 0 of the array), with their nulls.
pub(crate) struct SpanViews {
    buf: Buffer,
    views: Vec<u128>,
    nulls: NullBufferBuilder,
}

impl SpanViews {
    /// Views into `buf`, room for `rows`.
    pub(crate) fn with_capacity(buf: Buffer, rows: usize) -> Self {
        Self {
            buf,
            views: Vec::with_capacity(rows),
            nulls: NullBufferBuilder::new(rows),
        }
    }

    /// Appends the value `buf[s..e]`.
    ///
    /// # Safety
    /// `buf[s..e]` is valid UTF-8 and `e` is below `u32::MAX`.
    #[inline]
    pub(crate) unsafe fn push(&mut self, s: usize, e: usize) {
        let view = view_of(self.buf.as_slice(), s, e);
        self.views.push(view);
        self.nulls.append_non_null();
    }

    /// Appends the same value `buf[s..e]` `n` times.
    ///
    /// # Safety
    /// As for [`Self::push`].
    pub(crate) unsafe fn push_n(&mut self, s: usize, e: usize, n: usize) {
        let view = view_of(self.buf.as_slice(), s, e);
        self.views.resize(self.views.len() + n, view);
        self.nulls.append_n_non_nulls(n);
    }

    /// Appends a null.
    #[inline]
    pub(crate) fn push_null(&mut self) {
        self.views.push(0);
        self.nulls.append_null();
    }

    /// The array.
    pub(crate) fn finish(mut self) -> StringViewArray {
        let nulls = self.nulls.finish();
        let views = ScalarBuffer::from(self.views);
        let buffers = if views.iter().any(|v| (*v as u32) as usize > MAX_INLINE) {
            vec![self.buf]
        } else {
            Vec::new()
        };
        // SAFETY: every view was made by `view_of` from a span of `buf` that `push`'s caller
        // vouched is UTF-8 (so inline bytes and prefixes are the span's own bytes, and a long
        // view's offset and length lie inside `buf`, block 0); nulls are zero views. When no
        // view is long, no view refers to a block.
        unsafe { StringViewArray::new_unchecked(views, buffers, nulls) }
    }
}

/// The view of `data[s..e]` in block 0.
#[inline]
fn view_of(data: &[u8], s: usize, e: usize) -> u128 {
    let len = e - s;
    let raw = match data.get(s..s + 16) {
        Some(bytes) => u128::from_le_bytes(bytes.try_into().unwrap_or([0; 16])),
        None => {
            let mut bytes = [0u8; 16];
            let n = (data.len() - s).min(16);
            bytes[..n].copy_from_slice(&data[s..s + n]);
            u128::from_le_bytes(bytes)
        }
    };
    if len <= MAX_INLINE {
        // The value's bytes after its length; bytes past the value are zero.
        let mask = (1u128 << (len * 8)) - 1;
        ((raw & mask) << 32) | len as u128
    } else {
        // Length, prefix, block 0, offset.
        (len as u128) | ((raw as u32 as u128) << 32) | ((s as u128) << 96)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;

    #[test]
    fn views_hold_short_values_inline_and_point_at_long_ones() {
        let text = "GET /owa/ user@contoso.com - x Microsoft-Server-ActiveSync/16.1 é";
        let buf = Buffer::from(text.as_bytes());
        let mut v = SpanViews::with_capacity(buf.clone(), 8);
        let spans = [
            (0, 3),
            (4, 9),
            (10, 26),
            (27, 28),
            (29, 30),
            (31, 63),
            (64, 66),
        ];
        for (i, &(s, e)) in spans.iter().enumerate() {
            if i == 3 {
                v.push_null();
            } else {
                // SAFETY: each span lies between ASCII spaces or at the text's end.
                unsafe { v.push(s, e) };
            }
        }
        // SAFETY: as above.
        unsafe { v.push_n(4, 9, 2) };
        let a = v.finish();
        a.to_data().validate_full().unwrap();
        let got: Vec<Option<&str>> = a.iter().collect();
        assert_eq!(
            got,
            vec![
                Some("GET"),
                Some("/owa/"),
                Some("user@contoso.com"),
                None,
                Some("x"),
                Some("Microsoft-Server-ActiveSync/16.1"),
                Some("é"),
                Some("/owa/"),
                Some("/owa/"),
            ]
        );
        assert_eq!(a.null_count(), 1);
        assert_eq!(a.data_buffers().len(), 1);
    }

    #[test]
    fn values_at_the_end_of_the_buffer_and_only_short_values() {
        // Fewer than 16 bytes after each value's start: the load is padded with zeros.
        let buf = Buffer::from(&b"200 0 64 abcdefghijklm"[..]);
        let mut v = SpanViews::with_capacity(buf, 4);
        for (s, e) in [(0, 3), (4, 5), (6, 8), (9, 22)] {
            // SAFETY: ASCII.
            unsafe { v.push(s, e) };
        }
        let a = v.finish();
        a.to_data().validate_full().unwrap();
        let got: Vec<Option<&str>> = a.iter().collect();
        assert_eq!(
            got,
            vec![Some("200"), Some("0"), Some("64"), Some("abcdefghijklm")]
        );

        let buf = Buffer::from(&b"a bb"[..]);
        let mut v = SpanViews::with_capacity(buf, 2);
        // SAFETY: ASCII.
        unsafe {
            v.push(0, 1);
            v.push(2, 4);
        }
        let a = v.finish();
        a.to_data().validate_full().unwrap();
        assert!(a.data_buffers().is_empty());
        assert_eq!(a.value(1), "bb");
    }
}
