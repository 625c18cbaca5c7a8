//! go.mod files: a lenient reader for the `module` directive
//! (golang.org/x/mod/modfile.ModulePath) and a syntax check following the
//! lexer and parser in modfile/read.go.
//!
//! The syntax check accepts any directive, known or not, as `go` does for
//! the go.mod files of dependencies; it only rejects text that modfile
//! cannot tokenize or whose `( ... )` blocks are malformed.

use crate::error::Error;
use crate::unicode_tables;

/// The go.mod go serves for a module version that has none
/// (`modfetch.LegacyGoMod`); valid module paths never need quoting.
pub fn legacy_go_mod(module: &str) -> String {
    format!("module {module}\n")
}

/// Returns the module path declared by go.mod text, or `None` if there is
/// no usable `module` directive.
///
/// Like Go's `modfile.ModulePath`, this looks only at the first line of the
/// form `module <path>`, ignores `//` comments and accepts a quoted path.
/// Where Go would return an empty string or a path with invalid UTF-8
/// (which no valid module path contains), this returns `None`.
pub fn module_path(data: &[u8]) -> Option<String> {
    for line in data.split(|&b| b == b'\n') {
        // Cut at the first `//`, even inside quotes, as Go does.
        let line = match line.windows(2).position(|w| w == b"//") {
            Some(i) => &line[..i],
            None => line,
        };
        // Lossy decoding leaves spaces and `module` intact, so the decision
        // to stop at this line is the same as Go's.
        let text = String::from_utf8_lossy(line);
        let Some(rest) = text.trim().strip_prefix("module") else {
            continue;
        };
        let arg = rest.trim_start();
        if arg.len() == rest.len() || arg.is_empty() {
            continue; // `modulex`, or a bare `module`
        }
        if std::str::from_utf8(line).is_err() {
            return None;
        }
        let path = if arg.starts_with(['"', '`']) {
            unquote(arg)?
        } else {
            arg.to_owned()
        };
        return (!path.is_empty()).then_some(path);
    }
    None
}

/// Interprets a Go string literal (`"..."` with escapes, or `` `...` ``),
/// as strconv.Unquote does. `None` if malformed or not UTF-8.
fn unquote(s: &str) -> Option<String> {
    if let Some(raw) = s.strip_prefix('`') {
        let raw = raw.strip_suffix('`').filter(|r| !r.contains('`'))?;
        return Some(raw.replace('\r', ""));
    }
    let mut rest = s.strip_prefix('"')?;
    let mut out = Vec::with_capacity(rest.len());
    loop {
        let c = rest.chars().next()?;
        rest = &rest[c.len_utf8()..];
        match c {
            '"' => break,
            '\n' => return None,
            '\\' => rest = unescape_char(rest, &mut out)?,
            c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    if !rest.is_empty() {
        return None;
    }
    String::from_utf8(out).ok()
}

/// Decodes the escape sequence after a backslash in a `"` string, appending
/// its bytes to `out`; returns the remaining input.
fn unescape_char<'a>(s: &'a str, out: &mut Vec<u8>) -> Option<&'a str> {
    let c = s.chars().next()?;
    let rest = &s[c.len_utf8()..];
    let simple = match c {
        'a' => Some(0x07),
        'b' => Some(0x08),
        'f' => Some(0x0c),
        'n' => Some(b'\n'),
        'r' => Some(b'\r'),
        't' => Some(b'\t'),
        'v' => Some(0x0b),
        '\\' => Some(b'\\'),
        '"' => Some(b'"'),
        _ => None,
    };
    if let Some(b) = simple {
        out.push(b);
        return Some(rest);
    }
    let (digits, radix) = match c {
        'x' => (2, 16),
        'u' => (4, 16),
        'U' => (8, 16),
        '0'..='7' => (2, 8), // the first of three octal digits is `c`
        _ => return None,
    };
    let text = rest.get(..digits)?;
    if !text.chars().all(|d| d.is_digit(radix)) {
        return None;
    }
    let value = u32::from_str_radix(text, radix).ok()?;
    match c {
        // Single bytes, which need not form UTF-8.
        'x' => out.push(u8::try_from(value).ok()?),
        'u' | 'U' => {
            let ch = char::from_u32(value)?;
            out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
        }
        _ => {
            let first = c.to_digit(8)?;
            out.push(u8::try_from((first << 6) | value).ok()?);
        }
    }
    Some(&rest[digits..])
}

/// Checks that go.mod text is syntactically valid: valid UTF-8, only
/// characters modfile's lexer accepts, terminated strings, no `/* */`
/// comments, and properly closed `( ... )` blocks.
///
/// Note that Go's lexer itself would read invalid UTF-8 as U+FFFD and
/// accept it; this check is deliberately stricter there.
pub fn check_syntax(data: &[u8]) -> Result<(), Error> {
    let text = std::str::from_utf8(data).map_err(|e| {
        let valid = String::from_utf8_lossy(&data[..e.valid_up_to()]);
        let line = valid.matches('\n').count() + 1;
        let column = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Error::Syntax {
            line,
            column,
            message: "invalid UTF-8".into(),
        }
    })?;
    let mut lx = Lexer::new(text)?;
    parse_file(&mut lx).map(drop)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Eof,
    /// A `//` comment after other tokens on its line.
    EolComment,
    /// A `//` comment alone on its line.
    Comment,
    Ident,
    Str,
    Newline,
    LParen,
    RParen,
    /// `[`, `]`, `{`, `}` or `,`: tokens of their own but otherwise ordinary.
    Punct,
}

impl Tok {
    fn is_eol(self) -> bool {
        matches!(self, Tok::Eof | Tok::EolComment | Tok::Newline)
    }
}

/// modfile's lexer, always one token ahead of the parser.
struct Lexer<'a> {
    text: &'a str,
    /// Byte offset of the next unread character.
    pos: usize,
    line: usize,
    column: usize,
    next: Tok,
    /// Line and column where `next` starts.
    next_start: (usize, usize),
    /// Byte range of `next` in `text`.
    next_span: (usize, usize),
    /// Byte offset where the token being scanned starts.
    token_start: usize,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Result<Self, Error> {
        let mut lx = Lexer {
            text,
            pos: 0,
            line: 1,
            column: 1,
            next: Tok::Eof,
            next_start: (1, 1),
            next_span: (0, 0),
            token_start: 0,
        };
        lx.next = lx.read_token()?;
        Ok(lx)
    }

    fn peek(&self) -> Tok {
        self.next
    }

    /// Returns the next token and reads the one after it.
    fn lex(&mut self) -> Result<Tok, Error> {
        Ok(self.lex_text()?.0)
    }

    /// Like [`Lexer::lex`], with the token's text.
    fn lex_text(&mut self) -> Result<(Tok, &'a str), Error> {
        let tok = self.next;
        let (start, end) = self.next_span;
        self.next = self.read_token()?;
        Ok((tok, &self.text[start..end]))
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn peek_char(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek_char()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::Syntax {
            line: self.line,
            column: self.column,
            message: message.into(),
        }
    }

    fn block_comment_error(&self) -> Error {
        self.error("mod files must use // comments (not /* */ comments)")
    }

    fn read_token(&mut self) -> Result<Tok, Error> {
        let tok = self.scan_token()?;
        self.next_span = (self.token_start, self.pos);
        Ok(tok)
    }

    fn scan_token(&mut self) -> Result<Tok, Error> {
        while let Some(c) = self.peek_char() {
            if matches!(c, ' ' | '\t' | '\r') {
                self.bump();
                continue;
            }
            if self.rest().starts_with("//") {
                self.next_start = (self.line, self.column);
                self.token_start = self.pos;
                let line_start = self.text[..self.pos].rfind('\n').map_or(0, |i| i + 1);
                let alone = self.text[line_start..self.pos].trim().is_empty();
                // The comment includes its newline.
                while self.bump().is_some_and(|c| c != '\n') {}
                return Ok(if alone { Tok::Comment } else { Tok::EolComment });
            }
            if self.rest().starts_with("/*") {
                return Err(self.block_comment_error());
            }
            break;
        }

        self.next_start = (self.line, self.column);
        self.token_start = self.pos;
        let Some(c) = self.peek_char() else {
            return Ok(Tok::Eof);
        };
        let punct = match c {
            '\n' => Some(Tok::Newline),
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' | ']' | '{' | '}' | ',' => Some(Tok::Punct),
            _ => None,
        };
        if let Some(tok) = punct {
            self.bump();
            return Ok(tok);
        }
        if c == '"' || c == '`' {
            return self.read_string(c);
        }
        if !is_ident(c) {
            return Err(self.error(format!("unexpected input character {}", quote_rune(c))));
        }
        while self.peek_char().is_some_and(is_ident) {
            if self.rest().starts_with("//") {
                break;
            }
            if self.rest().starts_with("/*") {
                return Err(self.block_comment_error());
            }
            self.bump();
        }
        Ok(Tok::Ident)
    }

    /// Reads a string up to the closing `quote`. Backslash escapes (in `"`
    /// strings only) are skipped over, not checked, and may even hide a newline.
    fn read_string(&mut self, quote: char) -> Result<Tok, Error> {
        let (line, column) = self.next_start;
        let eof_error = || Error::Syntax {
            line,
            column,
            message: "unexpected EOF in string".into(),
        };
        self.bump();
        loop {
            match self.peek_char() {
                None => return Err(eof_error()),
                Some('\n') => return Err(self.error("unexpected newline in string")),
                Some(_) => {}
            }
            let c = self.bump();
            if c == Some(quote) {
                return Ok(Tok::Str);
            }
            if c == Some('\\') && quote != '`' && self.bump().is_none() {
                return Err(eof_error());
            }
        }
    }
}

/// Quotes a character the way Go's `%q` does for the non-printable
/// characters the lexer rejects (`'\x00'`, `'\v'`, `'\u00a0'`).
fn quote_rune(c: char) -> String {
    let escaped = match c {
        '\x07' => "\\a".to_owned(),
        '\x08' => "\\b".to_owned(),
        '\x0c' => "\\f".to_owned(),
        '\n' => "\\n".to_owned(),
        '\r' => "\\r".to_owned(),
        '\t' => "\\t".to_owned(),
        '\x0b' => "\\v".to_owned(),
        c if c < ' ' || c == '\x7f' => format!("\\x{:02x}", u32::from(c)),
        c if u32::from(c) < 0x10000 => format!("\\u{:04x}", u32::from(c)),
        c => format!("\\U{:08x}", u32::from(c)),
    };
    format!("'{escaped}'")
}

/// Identifiers are runs of printable, non-space characters other than the
/// punctuation tokens. (Quotes only start a string at the start of a token.)
fn is_ident(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_graphic() && !matches!(c, '(' | ')' | '[' | ']' | '{' | '}' | ',')
    } else {
        unicode_tables::contains(unicode_tables::PRINT_NOT_SPACE, c)
    }
}

/// A statement: its verb (for the lines of a `verb ( ... )` block, the
/// block's verb) and its arguments, as written, with the `//` comments
/// modfile attaches to it (see [`Line::comment`]).
struct Line<'a> {
    tokens: Vec<&'a str>,
    /// The comment lines right before it (in a block: since the previous
    /// line), then its end-of-line comment.
    comments: Vec<&'a str>,
    /// For a line of a block: the block's own comments, which stand for
    /// the line's when it has none (modfile's parseDirectiveComment).
    block: Vec<&'a str>,
}

impl<'a> std::ops::Deref for Line<'a> {
    type Target = [&'a str];
    fn deref(&self) -> &[&'a str] {
        &self.tokens
    }
}

impl Line<'_> {
    /// The text of its comments without `//`, one trimmed line each, as
    /// modfile's parseDirectiveComment gives it.
    fn comment(&self) -> String {
        let comments = if self.comments.is_empty() {
            &self.block
        } else {
            &self.comments
        };
        comments
            .iter()
            .map(|c| c.trim().trim_start_matches("//").trim())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn parse_file<'a>(lx: &mut Lexer<'a>) -> Result<Vec<Line<'a>>, Error> {
    let mut lines = Vec::new();
    // Comment lines directly above the next statement; a blank line makes
    // them a comment block of their own.
    let mut before = Vec::new();
    loop {
        match lx.peek() {
            Tok::Newline => {
                lx.lex()?;
                before.clear();
            }
            Tok::Comment => before.push(lx.lex_text()?.1),
            Tok::Eof => return Ok(lines),
            _ => parse_stmt(lx, std::mem::take(&mut before), &mut lines)?,
        }
    }
}

/// A line of tokens, or the header of a block when it ends in `(`.
fn parse_stmt<'a>(
    lx: &mut Lexer<'a>,
    mut comments: Vec<&'a str>,
    lines: &mut Vec<Line<'a>>,
) -> Result<(), Error> {
    let start = lx.next_start;
    let mut tokens = vec![lx.lex_text()?.1]; // the verb, whatever it is
    loop {
        let (tok, text) = lx.lex_text()?;
        if tok.is_eol() {
            if tok == Tok::EolComment {
                comments.push(text);
            }
            lines.push(Line {
                tokens,
                comments,
                block: Vec::new(),
            });
            return Ok(());
        }
        // Any other parentheses, including an empty `( )` block, are plain
        // tokens as far as syntax goes.
        if tok == Tok::LParen && lx.peek().is_eol() {
            return parse_line_block(lx, start, &tokens, comments, lines);
        }
        tokens.push(text);
    }
}

fn parse_line_block<'a>(
    lx: &mut Lexer<'a>,
    start: (usize, usize),
    header: &[&'a str],
    mut block: Vec<&'a str>,
    lines: &mut Vec<Line<'a>>,
) -> Result<(), Error> {
    let mut before = Vec::new();
    let mut first = true;
    loop {
        match lx.peek() {
            Tok::EolComment => {
                // Only the one after `(` can come here: a line's own is read with it.
                let text = lx.lex_text()?.1;
                if first {
                    block.push(text);
                }
            }
            Tok::Newline => {
                lx.lex()?;
            }
            Tok::Comment => before.push(lx.lex_text()?.1),
            Tok::Eof => {
                return Err(lx.error(format!(
                    "syntax error (unterminated block started at go.mod:{}:{})",
                    start.0, start.1
                )));
            }
            Tok::RParen => {
                lx.lex()?;
                if !lx.peek().is_eol() {
                    return Err(lx.error("syntax error (expected newline after closing paren)"));
                }
                lx.lex()?;
                return Ok(());
            }
            _ => {
                // A line inside the block; parentheses in it are plain tokens.
                let mut tokens = header.to_vec();
                let mut comments = std::mem::take(&mut before);
                loop {
                    let (tok, text) = lx.lex_text()?;
                    if tok.is_eol() {
                        if tok == Tok::EolComment {
                            comments.push(text);
                        }
                        break;
                    }
                    tokens.push(text);
                }
                lines.push(Line {
                    tokens,
                    comments,
                    block: block.clone(),
                });
            }
        }
        first = false;
    }
}

/// The statements of go.mod text, when its syntax is valid.
fn statements(data: &[u8]) -> Option<Vec<Line<'_>>> {
    let text = std::str::from_utf8(data).ok()?;
    parse_file(&mut Lexer::new(text).ok()?).ok()
}

/// The module path the `module` directive declares as the go command's
/// parser reads a dependency's go.mod (modload's check of the path): in
/// line or block form (`module (\n\tpath\n)`), quoted or not. `None`
/// without one, or when the file does not parse, the directive is
/// repeated or does not have exactly one argument (go refuses all of these).
pub fn declared_module(data: &[u8]) -> Option<String> {
    let lines = statements(data)?;
    let mut modules = lines.iter().filter(|l| l[0] == "module");
    let line = modules.next()?;
    if modules.next().is_some() {
        return None;
    }
    let [_, arg] = line.tokens.as_slice() else {
        return None;
    };
    string_arg(arg).filter(|path| !path.is_empty())
}

/// The Go version of the `go` directive, as modfile's lax parser reads it
/// (`1.21`, `1.21.3`, `1.22rc1`; a lax `1.21beta` becomes `1.21`). `None`
/// without a valid directive or when the file does not parse.
pub fn go_directive(data: &[u8]) -> Option<String> {
    let lines = statements(data)?;
    let line = lines.iter().find(|l| l[0] == "go")?;
    let [_, arg] = line.tokens.as_slice() else {
        return None;
    };
    if is_go_version(arg) {
        return Some((*arg).to_owned());
    }
    lax_go_version(arg)
}

/// modfile's GoVersionRE: `1.N`, `1.N.P`, optionally followed by a
/// pre-release such as `rc1`.
fn is_go_version(v: &str) -> bool {
    let Some((major, rest)) = split_number(v) else {
        return false;
    };
    if major == "0" {
        return false;
    }
    let Some(rest) = rest.strip_prefix('.') else {
        return false;
    };
    let Some((_, mut rest)) = split_number(rest) else {
        return false;
    };
    if let Some(patch) = rest.strip_prefix('.') {
        let Some((_, after)) = split_number(patch) else {
            return false;
        };
        rest = after;
    }
    if rest.is_empty() {
        return true;
    }
    let letters = rest.bytes().take_while(u8::is_ascii_lowercase).count();
    letters > 0 && {
        let digits = &rest[letters..];
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    }
}

/// A decimal number without leading zeros at the start of `s`, and the rest.
fn split_number(s: &str) -> Option<(&str, &str)> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    let (num, rest) = s.split_at(n);
    (n > 0 && (num == "0" || !num.starts_with('0'))).then_some((num, rest))
}

/// modfile's laxGoVersionRE: `v?1.N` followed by a non-digit, fixed to `1.N`.
fn lax_go_version(v: &str) -> Option<String> {
    let v = v.strip_prefix('v').unwrap_or(v);
    let (major, rest) = split_number(v)?;
    if major == "0" {
        return None;
    }
    let (minor, rest) = split_number(rest.strip_prefix('.')?)?;
    let next = rest.chars().next()?;
    (!next.is_ascii_digit()).then(|| format!("{major}.{minor}"))
}

/// The version intervals (low, high) of the `retract` directives, as
/// written (`retract v1.0.0` is `(v1.0.0, v1.0.0)`). Empty when the file
/// does not parse or a retraction is malformed: go then assumes nothing is
/// retracted.
pub fn retractions(data: &[u8]) -> Vec<(String, String)> {
    retracted(data)
        .into_iter()
        .map(|r| (r.low, r.high))
        .collect()
}

/// A `retract` directive: the versions from `low` to `high` (both
/// included) and the comment that says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retraction {
    pub low: String,
    pub high: String,
    pub rationale: String,
}

impl Retraction {
    /// Whether `version` is in the retracted interval.
    pub fn covers(&self, version: &str) -> bool {
        use std::cmp::Ordering::*;
        crate::semver::compare(&self.low, version) != Greater
            && crate::semver::compare(version, &self.high) != Greater
    }
}

/// The `retract` directives with their rationale; empty as for [`retractions`].
pub fn retracted(data: &[u8]) -> Vec<Retraction> {
    let Some(lines) = statements(data) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in lines.iter().filter(|l| l[0] == "retract") {
        let interval = match &line[1..] {
            [v] => version_arg(v).map(|v| (v.clone(), v)),
            ["[", low, ",", high, "]"] => version_arg(low).zip(version_arg(high)),
            _ => None,
        };
        match interval {
            Some((low, high)) => out.push(Retraction {
                low,
                high,
                rationale: line.comment(),
            }),
            None => return Vec::new(),
        }
    }
    out
}

/// The `Deprecated:` paragraph of the comments on the `module` directive,
/// as modfile's parseDeprecation finds it; `None` when the module is not
/// deprecated or the file does not parse.
pub fn deprecation(data: &[u8]) -> Option<String> {
    let lines = statements(data)?;
    let comment = lines.iter().find(|l| l[0] == "module")?.comment();
    // A paragraph starting `Deprecated:`, to the next blank line.
    let mut paragraphs = comment.split("\n\n");
    paragraphs.find_map(|p| {
        p.strip_prefix("Deprecated:")
            .map(|rest| rest.trim_start_matches(' ').to_owned())
    })
}

/// A `require` directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Require {
    pub path: String,
    pub version: String,
    /// Marked `// indirect`.
    pub indirect: bool,
}

/// The `require` directives; `None` when the file does not parse or a
/// requirement is malformed (go refuses such a go.mod).
pub fn requirements(data: &[u8]) -> Option<Vec<Require>> {
    let lines = statements(data)?;
    lines
        .iter()
        .filter(|l| l[0] == "require")
        .map(|line| {
            let [_, path, version] = line.tokens.as_slice() else {
                return None;
            };
            let path = string_arg(path)?;
            let version = string_arg(version)?;
            crate::version::check(&path, &version).ok()?;
            let indirect = line
                .comments
                .last()
                .is_some_and(|c| c.trim().trim_start_matches("//").trim() == "indirect");
            Some(Require {
                path,
                version,
                indirect,
            })
        })
        .collect()
}

/// A `replace` directive: `path [version] => new [new_version]`; a
/// replacement without a version is a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replace {
    pub path: String,
    /// Only this version is replaced; every version when `None`.
    pub version: Option<String>,
    pub new: String,
    /// `None` for a directory replacement.
    pub new_version: Option<String>,
}

/// The directive of `replaces` that applies to `path@version`: one for
/// that version wins over one for every version, as in go.
pub fn replacement<'a>(replaces: &'a [Replace], path: &str, version: &str) -> Option<&'a Replace> {
    replaces
        .iter()
        .find(|r| r.path == path && r.version.as_deref() == Some(version))
        .or_else(|| {
            replaces
                .iter()
                .find(|r| r.path == path && r.version.is_none())
        })
}

/// The `replace` directives; `None` as for [`requirements`].
pub fn replacements(data: &[u8]) -> Option<Vec<Replace>> {
    let lines = statements(data)?;
    lines
        .iter()
        .filter(|l| l[0] == "replace")
        .map(|line| {
            let args = &line[1..];
            let arrow = args.iter().position(|a| *a == "=>")?;
            let (old, new) = (&args[..arrow], &args[arrow + 1..]);
            let (path, version) = match old {
                [p] => (string_arg(p)?, None),
                [p, v] => (string_arg(p)?, Some(string_arg(v)?)),
                _ => return None,
            };
            let (new, new_version) = match new {
                [p] => (string_arg(p)?, None),
                [p, v] => (string_arg(p)?, Some(string_arg(v)?)),
                _ => return None,
            };
            Some(Replace {
                path,
                version,
                new,
                new_version,
            })
        })
        .collect()
}

/// An argument, unquoted when quoted.
fn string_arg(arg: &str) -> Option<String> {
    if arg.starts_with(['"', '`']) {
        unquote(arg)
    } else {
        Some(arg.to_owned())
    }
}

/// A version argument: a canonical semantic version, possibly quoted.
fn version_arg(arg: &str) -> Option<String> {
    let v = if arg.starts_with(['"', '`']) {
        unquote(arg)?
    } else {
        arg.to_owned()
    };
    (crate::semver::is_valid(&v) && crate::semver::canonical(&v) == v).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_module_reads_lines_and_blocks() {
        for (data, want) in [
            (&b"module example.com/m\n"[..], Some("example.com/m")),
            (b"module \"example.com/m\" // c\n", Some("example.com/m")),
            (
                b"module (\n\texample.com/block\n)\n",
                Some("example.com/block"),
            ),
            (b"module (\n\t\"example.com/q\"\n)\n", Some("example.com/q")),
            (b"go 1.21\n", None),
            (b"module a.b\nmodule a.b\n", None),
            (b"module (\n\ta.b\n\tc.d\n)\n", None),
            (b"module a b\n", None),
            (b"module \"\"\n", None),
            (b"module (\n", None),
        ] {
            assert_eq!(declared_module(data).as_deref(), want, "{data:?}");
        }
    }

    #[test]
    fn module_path_table() {
        // read_test.go's modulePathTests; Go's "" is None here.
        let cases: &[(&[u8], Option<&str>)] = &[
            (
                b"module \"github.com/rsc/vgotest\"",
                Some("github.com/rsc/vgotest"),
            ),
            (
                b"module github.com/rsc/vgotest",
                Some("github.com/rsc/vgotest"),
            ),
            (
                b"module  \"github.com/rsc/vgotest\"",
                Some("github.com/rsc/vgotest"),
            ),
            (
                b"module  github.com/rsc/vgotest",
                Some("github.com/rsc/vgotest"),
            ),
            (
                b"module `github.com/rsc/vgotest`",
                Some("github.com/rsc/vgotest"),
            ),
            (
                b"module \"github.com/rsc/vgotest/v2\"",
                Some("github.com/rsc/vgotest/v2"),
            ),
            (
                b"module github.com/rsc/vgotest/v2",
                Some("github.com/rsc/vgotest/v2"),
            ),
            (b"module \"gopkg.in/yaml.v2\"", Some("gopkg.in/yaml.v2")),
            (b"module gopkg.in/yaml.v2", Some("gopkg.in/yaml.v2")),
            (b"module \"gopkg.in/check.v1\"\n", Some("gopkg.in/check.v1")),
            (b"module \"gopkg.in/check.v1\n\"", None),
            (b"module gopkg.in/check.v1\n", Some("gopkg.in/check.v1")),
            (
                b"module \"gopkg.in/check.v1\"\r\n",
                Some("gopkg.in/check.v1"),
            ),
            (b"module gopkg.in/check.v1\r\n", Some("gopkg.in/check.v1")),
            (
                b"module \"gopkg.in/check.v1\"\n\n",
                Some("gopkg.in/check.v1"),
            ),
            (b"module gopkg.in/check.v1\n\n", Some("gopkg.in/check.v1")),
            (b"module \n\"gopkg.in/check.v1\"\n\n", None),
            (b"module \ngopkg.in/check.v1\n\n", None),
            (b"module \"gopkg.in/check.v1\"asd", None),
            (b"module \n\"gopkg.in/check.v1\"\n\n", None),
            (b"module \ngopkg.in/check.v1\n\n", None),
            (b"module \"gopkg.in/check.v1\"asd", None),
            (b"module  \nmodule a/b/c ", Some("a/b/c")),
            (b"module \"   \"", Some("   ")),
            (b"module   ", None),
            (b"module \"  a/b/c  \"", Some("  a/b/c  ")),
            (
                b"module \"github.com/rsc/vgotest1\" // with a comment",
                Some("github.com/rsc/vgotest1"),
            ),
        ];
        for &(input, want) in cases {
            assert_eq!(
                module_path(input).as_deref(),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn module_path_edges() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (b"", None),
            (b"// module x.y\nmodule a.b", Some("a.b")),
            (b"modulex a.b\nmodule c.d", Some("c.d")),
            (b"  \tmodule\ta.b // c\ngo 1.21", Some("a.b")),
            (b"go 1.21\nmodule a.b\nmodule c.d", Some("a.b")),
            (b"module \"a//b\"", None), // the comment cut happens first
            (b"module \"\"\nmodule a.b", None),
            (b"module \"a\\x41\\u00e9\\101\\\"\"", Some("aA\u{e9}A\"")),
            (b"module \"a\\'\"", None),
            (b"module \"a\\400\"", None),
            (b"module \"a\\xff\"", None),
            (b"module \"a\\ud800\"", None),
            (b"module \"a\\x+1\"", None),
            (b"module \"a\\q\"", None),
            (b"module \"a\\", None),
            (b"module `a\rb`", Some("ab")),
            (b"module `a`b`", None),
            (b"module `", None),
            (b"module a\xffb", None),
            (b"x \xff\nmodule a.b", Some("a.b")),
            (b"module a.b \xff\xfe // \xff", None),
            (b"module a.b // \xff", Some("a.b")),
            (b"\xe2\x80\x83module a.b", Some("a.b")), // U+2003 is a space
            (b"module a b c", Some("a b c")),
            (b"module\0a.b", None),
        ];
        for &(input, want) in cases {
            assert_eq!(
                module_path(input).as_deref(),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    /// Inputs that x/mod's tests parse successfully: testdata/*.in and the
    /// sources of TestParsePunctuation, TestParseLax, TestComments and TestGoVersion.
    const VALID: &[&str] = &[
        // testdata/block.in
        "// comment\nx \"y\" z\n\n// block\nblock ( // block-eol\n\t// x-before-line\n\t\n\t\"x\" ( y // x-eol\n\t\"x\" ) y // y-eol\n\t\"x1\"\n\t\"x2\"\n\t// line\n\t\"x3\"\n\t\"x4\"\n\t\n\t\"x5\"\n\t\n\t// y-line\n\t\"y\" //  y-eol\n\t\n\t\"z\" // z-eol\n) // block-eol2\n\n\nblock1()\n\nblock2 (x y z)\n\nblock3 \"w\" ( ) // empty block\nblock4 \"x\" ( ) \"y\" // not a block\n",
        // testdata/comment.in
        "// comment\nmodule \"x\" // eol\n// mid comment\n\n// comment 2\n// comment 2 line 2\nmodule \"y\" // eoy\n// comment 3\n",
        // testdata/empty.in, module.in
        "",
        "module \"abc\"\n",
        // testdata/replace.in
        "module \"abc\"\n\nreplace \"xyz\" v1.2.3 => \"/tmp/z\"\n\nreplace \"xyz\" v1.3.4 => \"my/xyz\" v1.3.4-me\n\nreplace (\n\t\"w\" v1.0.0 => \"./a,\"\n\t\"w\" v1.0.1 => \"./a()\"\n\t\"w\" v1.0.2 => \"./a[]\"\n\t\"w\" v1.0.3 => \"./a{}\"\n)\n",
        // testdata/replace2.in
        "module \"abc\"\n\nreplace (\n\t\"xyz\" v1.2.3 => \"/tmp/z\"\n\t\"xyz\" v1.3.4 => \"my/xyz\" \"v1.3.4-me\"\n\txyz \"v1.4.5\" => \"/tmp/my dir\"\n\txyz v1.5.6 => my/xyz v1.5.6\n\n\txyz => my/other/xyz v1.5.4\n)\n",
        // testdata/retract.in
        "module abc\n\nretract \"v1.2.3\"\n\nretract [ \"v1.2.3\" , \"v1.2.4\" ]\n\nretract (\n\t\"v1.2.3\"\n\n\t[ \"v1.2.3\" , \"v1.2.4\" ]\n)\n",
        // testdata/gopkg.in.golden and rule1.golden
        "module x\n\nrequire (\n\tgopkg.in/mgo.v2 v2.0.0-20160818020120-3f83fa500528\n\tgopkg.in/yaml.v2 v2.2.1\n)\n",
        "module \"x\"\n\nmodule \"y\"\n\nrequire \"x\"\n\nrequire x\n",
        // TestParsePunctuation
        "require ()",
        "require []{},",
        "require a[b]c{d}e,",
        "require (\n\ta[b]\n)",
        "require [v1.0.0, v1.1.0)",
        // TestParseLax
        "module m\n\t\tsurprise attack\n\t\tx y (\n\t\t\tz\n\t\t)\n\t\texclude v1.2.3\n\t\treplace <-!!!\n\t\tretract v1.2.3 v1.2.4\n\t\tretract (v1.2.3, v1.2.4]\n\t\tretract v1.2.3 (\n\t\t\tkey1 value1\n\t\t\tkey2 value2\n\t\t)\n\t\trequire good v1.0.0\n\t",
        // TestComments
        "\n// a\n// b\n",
        "\n// a\n\n// b\nmodule m // c\n// d\n\n// e\n",
        "\n// a\n\n// b\nblock ( // c\n\t// d\n\n\t// e\n\tx // f\n\t// g\n\n\t// h\n) // i\n// j\n\n// k\n",
        "// a\r\r\n",
        // TestGoVersion (semantic, not syntax, errors)
        "module m\ngo \n",
        "module m\ngo 1.22.333",
        "module m\ngo 1.2 3.4\n",
    ];

    #[test]
    fn accepts_x_mod_test_inputs() {
        for src in VALID {
            assert_eq!(check_syntax(src.as_bytes()), Ok(()), "{src:?}");
        }
    }

    #[test]
    fn accepts_lexer_corners() {
        let ok = [
            "module x\n)\n",                // a stray `)` is just a token outside blocks
            "(\n",                          // so is a leading `(`
            "( (\n)\n",                     // a block whose verb is `(`
            "x ( y\n",                      // `(` mid-line is a token
            "x ( ) y\n",                    // so is `( )` mid-line
            "require (\n\ta (\n\tb )\n)\n", // parens inside block lines
            "a\"b c\"\n",                   // quotes inside identifiers
            "x \"a\\\nb\"\n",               // an escaped newline inside a string
            "x \"\\\"\" `\\`\n",            // escaped quote; raw strings have no escapes
            "x //* not a block comment\n",
            "x a//b\n",
            "x \"/*\" `/*`\n",
            "x // /* fine\n",
            "module é.例/ü ☺ ∑\n",
            "x \"\0\u{85}\u{200B}\" // \0\u{200B}\n",
            "\r\n\r\nx\r\n",
            "x ( // c\n) // d",
            "x (\n)",
            "x ()",
        ];
        for src in ok {
            assert_eq!(check_syntax(src.as_bytes()), Ok(()), "{src:?}");
        }
    }

    #[test]
    fn rejects_syntax_errors() {
        // Messages and positions as Go's modfile reports them (file "go.mod").
        let cases: &[(&[u8], &str)] = &[
            (
                b"/* c */\nmodule x\n",
                "go.mod:1: mod files must use // comments (not /* */ comments)",
            ),
            (
                b"module x /* c */\n",
                "go.mod:1:10: mod files must use // comments (not /* */ comments)",
            ),
            (
                b"module x/*\n",
                "go.mod:1:9: mod files must use // comments (not /* */ comments)",
            ),
            (
                b"x (/*\n)",
                "go.mod:1:4: mod files must use // comments (not /* */ comments)",
            ),
            (b"module \"x\n", "go.mod:1:10: unexpected newline in string"),
            (b"module \"x", "go.mod:1:8: unexpected EOF in string"),
            (b"module `x", "go.mod:1:8: unexpected EOF in string"),
            (
                b"module `x\ny`",
                "go.mod:1:10: unexpected newline in string",
            ),
            (b"module \"x\\", "go.mod:1:8: unexpected EOF in string"),
            (
                b"module x\0\n",
                "go.mod:1:9: unexpected input character '\\x00'",
            ),
            (
                b"module x\x0b\n",
                "go.mod:1:9: unexpected input character '\\v'",
            ),
            (
                b"module \xc2\xa0x\n",
                "go.mod:1:8: unexpected input character '\\u00a0'",
            ),
            (
                b"module x\xe2\x80\x8b\n",
                "go.mod:1:9: unexpected input character '\\u200b'",
            ),
            (
                b"require (\n\tx v1.0.0\n",
                "go.mod:3: syntax error (unterminated block started at go.mod:1:1)",
            ),
            (
                b"\n  require (",
                "go.mod:2:12: syntax error (unterminated block started at go.mod:2:3)",
            ),
            (
                b"require (\n) x\n",
                "go.mod:2:4: syntax error (expected newline after closing paren)",
            ),
            (
                b"require (\n)(\n",
                "go.mod:2:3: syntax error (expected newline after closing paren)",
            ),
            (b"module x\n\xff\n", "go.mod:2: invalid UTF-8"),
            (b"module \"\xc3\xa9\xff\"", "go.mod:1:10: invalid UTF-8"),
            (b"\x7f", "go.mod:1: unexpected input character '\\x7f'"),
            (
                b"x \xf3\xa0\x80\x81",
                "go.mod:1:3: unexpected input character '\\U000e0001'",
            ),
            (b"x\n\x01", "go.mod:2: unexpected input character '\\x01'"),
        ];
        for &(src, want) in cases {
            let got = check_syntax(src).map_err(|e| e.to_string());
            assert_eq!(
                got,
                Err(want.to_owned()),
                "{:?}",
                String::from_utf8_lossy(src)
            );
        }
    }

    #[test]
    fn ident_chars_follow_go() {
        // Letters, marks, numbers, punctuation and symbols, per Go's tables.
        for c in [
            'a', '~', '"', '/', 'é', '\u{0301}', '٣', '€', '😀', '\u{FFFD}',
        ] {
            assert!(is_ident(c), "{c:?}");
        }
        // Spaces, controls, format characters, unassigned and private use.
        for c in [
            ' ',
            '\t',
            '\u{85}',
            '\u{A0}',
            '\u{AD}',
            '\u{2028}',
            '\u{3000}',
            '\u{FEFF}',
            '\u{E000}',
            '\u{10FFFF}',
            '(',
            ',',
            '}',
        ] {
            assert!(!is_ident(c), "{c:?}");
        }
    }

    #[test]
    fn go_directive_lax() {
        let cases: &[(&str, Option<&str>)] = &[
            ("module m\ngo 1.21\n", Some("1.21")),
            ("module m\n\ngo 1.24.0 // comment\n", Some("1.24.0")),
            ("go 1.23rc1\nmodule m\n", Some("1.23rc1")),
            ("module m\ngo v1.18beta\n", Some("1.18")),
            ("module m\ngo 1.x\n", None),
            ("module m\ngo 01.2\n", None),
            ("module m\n", None),
            ("module m\ngo (\n", None),
        ];
        for (text, want) in cases {
            assert_eq!(go_directive(text.as_bytes()).as_deref(), *want, "{text:?}");
        }
    }

    #[test]
    fn retractions_carry_their_rationale() {
        let text = "module m\n\n// Published too early.\nretract v1.0.0\nretract v1.1.0 // Bad checksum.\nretract (\n\t// Broken build.\n\tv0.9.0\n\tv0.8.0\n)\nretract ( // All of them.\n\tv0.1.0\n)\n";
        let got: Vec<(String, String)> = retracted(text.as_bytes())
            .into_iter()
            .map(|r| (r.low, r.rationale))
            .collect();
        let want = [
            ("v1.0.0", "Published too early."),
            ("v1.1.0", "Bad checksum."),
            ("v0.9.0", "Broken build."),
            ("v0.8.0", ""),
            ("v0.1.0", "All of them."),
        ];
        let got: Vec<(&str, &str)> = got.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(got, want);
        let r = &retracted(b"module m\nretract [v1.1.0, v1.2.0]\n")[0];
        assert!(r.covers("v1.1.5") && r.covers("v1.2.0") && !r.covers("v1.2.1"));
    }

    #[test]
    fn deprecation_is_the_deprecated_paragraph_of_the_module_comments() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "// Deprecated: use example.com/new.\nmodule m\n",
                Some("use example.com/new."),
            ),
            ("module m // Deprecated: gone\n", Some("gone")),
            (
                "// Package m does things.\n//\n// Deprecated: use n.\nmodule m\n",
                Some("use n."),
            ),
            (
                "// Deprecated: detached by a blank line.\n\nmodule m\n",
                None,
            ),
            ("// Not Deprecated: really.\nmodule m\n", None),
            (
                "module m\n// Deprecated: after, not on, the directive\n",
                None,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(deprecation(text.as_bytes()).as_deref(), *want, "{text:?}");
        }
    }

    #[test]
    fn requirements_and_replacements() {
        let text = "module m\n\ngo 1.21\n\nrequire example.com/a v1.0.0\nrequire (\n\texample.com/b v1.2.0 // indirect\n\t\"example.com/c\" v0.1.0\n)\nreplace example.com/a => ../a\nreplace example.com/b v1.2.0 => example.com/fork v1.2.1\n";
        let reqs = requirements(text.as_bytes()).unwrap();
        let got: Vec<(&str, &str, bool)> = reqs
            .iter()
            .map(|r| (r.path.as_str(), r.version.as_str(), r.indirect))
            .collect();
        assert_eq!(
            got,
            [
                ("example.com/a", "v1.0.0", false),
                ("example.com/b", "v1.2.0", true),
                ("example.com/c", "v0.1.0", false)
            ]
        );
        let reps = replacements(text.as_bytes()).unwrap();
        assert_eq!(reps[0].new, "../a");
        assert_eq!(reps[0].version, None);
        assert_eq!(reps[1].version.as_deref(), Some("v1.2.0"));
        assert_eq!(reps[1].new_version.as_deref(), Some("v1.2.1"));
        assert!(requirements(b"module m\nrequire example.com/a\n").is_none());
        assert!(requirements(b"module m\nrequire example.com/a 1.0\n").is_none());
    }

    #[test]
    fn a_replacement_for_one_version_wins_over_one_for_all() {
        let text = "module m\nreplace example.com/b => example.com/all v1.0.0\nreplace example.com/b v1.2.0 => example.com/one v1.2.1\n";
        let reps = replacements(text.as_bytes()).unwrap();
        let new = |v| replacement(&reps, "example.com/b", v).map(|r| r.new.as_str());
        assert_eq!(new("v1.2.0"), Some("example.com/one"));
        assert_eq!(new("v1.3.0"), Some("example.com/all"));
        assert_eq!(replacement(&reps, "example.com/c", "v1.2.0"), None);
    }

    #[test]
    fn retract_directives() {
        let text = "module m\n\nretract v1.0.0 // oops\nretract [v1.1.0, v1.2.0]\nretract (\n\tv0.9.0\n\t\"v0.8.0\" // quoted\n\t[v0.1.0, v0.2.0]\n)\n";
        let want = [
            ("v1.0.0", "v1.0.0"),
            ("v1.1.0", "v1.2.0"),
            ("v0.9.0", "v0.9.0"),
            ("v0.8.0", "v0.8.0"),
            ("v0.1.0", "v0.2.0"),
        ];
        let got = retractions(text.as_bytes());
        let got: Vec<(&str, &str)> = got.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(got, want);
        assert!(retractions(b"module m\nretract v1.0\n").is_empty());
        assert!(retractions(b"module m\nretract [v1.0.0 v1.1.0]\n").is_empty());
    }
}
