//! List paging as AIP-158 has it, written once for every list call of every
//! service: a page size (0: the default, above the maximum: the maximum,
//! negative: refused) and an opaque page token that only this server issues.
//! A token is the URL-safe base64 of a cursor: a key to continue after, or an
//! offset into a stably ordered list.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::Error;

/// Items per page when the caller names no size.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// The most items one page carries.
pub const MAX_PAGE_SIZE: usize = 1000;

/// A page a caller asked for: how many items, and where to continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Items on the page, within 1..=[`MAX_PAGE_SIZE`].
    pub size: usize,
    /// The cursor the token carried; empty for the first page.
    pub cursor: String,
}

impl Page {
    /// The page `page_size` and `page_token` ask for, or `INVALID_ARGUMENT`
    /// naming the field.
    pub fn parse(page_size: i32, page_token: &str) -> Result<Self, Error> {
        Self::parse_or(page_size, page_token, DEFAULT_PAGE_SIZE)
    }

    /// As [`Page::parse`], with `default` items when the caller names no
    /// size (a list whose callers long read it whole pages by the maximum).
    pub fn parse_or(page_size: i32, page_token: &str, default: usize) -> Result<Self, Error> {
        let size = match page_size {
            n if n < 0 => return Err(Error::invalid("page_size", "不能为负数")),
            0 => default.clamp(1, MAX_PAGE_SIZE),
            n => (n as usize).min(MAX_PAGE_SIZE),
        };
        let cursor = if page_token.is_empty() {
            String::new()
        } else {
            URL_SAFE_NO_PAD
                .decode(page_token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|c| !c.is_empty())
                .ok_or_else(foreign_token)?
        };
        Ok(Self { size, cursor })
    }

    /// The offset an offset token of `list` carries (0 on the first page); a
    /// token issued for another list is refused.
    pub fn offset(&self, list: &str) -> Result<usize, Error> {
        if self.cursor.is_empty() {
            return Ok(0);
        }
        self.cursor
            .strip_prefix(list)
            .and_then(|c| c.strip_prefix(':'))
            .and_then(|n| n.parse().ok())
            .ok_or_else(foreign_token)
    }

    /// The items of this page of `items` (read with [`Page::offset`] of
    /// `list`), and the token of the next page, empty after the last.
    pub fn slice<T>(&self, list: &str, items: Vec<T>) -> Result<(Vec<T>, String), Error> {
        let offset = self.offset(list)?;
        let total = items.len();
        let page: Vec<T> = items.into_iter().skip(offset).take(self.size).collect();
        let next = offset + page.len();
        let token = next_offset_token(list, next, next < total);
        Ok((page, token))
    }
}

/// The token of the page of `list` that starts at offset `next`; empty when
/// there is no `more` (the list's last page was answered).
pub fn next_offset_token(list: &str, next: usize, more: bool) -> String {
    if more {
        token(&format!("{list}:{next}"))
    } else {
        String::new()
    }
}

/// The page token that continues at `cursor`.
pub fn token(cursor: &str) -> String {
    URL_SAFE_NO_PAD.encode(cursor)
}

fn foreign_token() -> Error {
    Error::invalid("page_token", "不是本服务签发的分页令牌")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_aip_158() {
        assert_eq!(Page::parse(0, "").unwrap().size, DEFAULT_PAGE_SIZE);
        assert_eq!(Page::parse(5, "").unwrap().size, 5);
        assert_eq!(Page::parse(1_000_000, "").unwrap().size, MAX_PAGE_SIZE);
        assert!(Page::parse(-1, "").is_err());
    }

    #[test]
    fn offset_pages_walk_the_whole_list_once() {
        let items: Vec<u32> = (0..7).collect();
        let mut seen = Vec::new();
        let mut next = String::new();
        loop {
            let page = Page::parse(3, &next).unwrap();
            let (got, token) = page.slice("things", items.clone()).unwrap();
            seen.extend(got);
            if token.is_empty() {
                break;
            }
            next = token;
        }
        assert_eq!(seen, items);
    }

    #[test]
    fn a_token_of_another_list_or_not_ours_is_refused() {
        let other = token("orders:3");
        assert!(Page::parse(3, &other).unwrap().offset("reporting").is_err());
        assert!(Page::parse(3, "%%%").is_err());
        assert!(Page::parse(3, &URL_SAFE_NO_PAD.encode([0xff_u8])).is_err());
    }
}
