//! Escaping, one function per place text from a workload, a config or a
//! results file lands: Markdown and HTML, XML, GitHub workflow commands,
//! and terminals and logs.

/// Escapes text for a Markdown table cell or HTML: every character that
/// Markdown or HTML could read as markup becomes an entity, and line
/// breaks become spaces, so a workload named `<img src=x onerror=…>` or
/// `a|b` stays text in its cell.
///
/// What GitHub links in rendered text is defused with a zero-width space
/// (U+200B, written `&#8203;`), as Renovate and Dependabot write `@&#8203;`
/// in their pull requests: an entity alone is no defence, since Markdown
/// turns `&#64;` back into `@` before GitHub looks for mentions. After an
/// `@` before a name (mentions of users and teams, `owner/repo@sha`,
/// e-mail autolinks), after a `#` before a letter or digit (`#1`,
/// `owner/repo#1`), inside `://` (GFM's extended autolinks of `http://` and
/// `https://`) and after `www` before a dot (GFM's `www.` autolinks).
pub fn markdown(s: &str) -> String {
    const ZWSP: &str = "&#8203;";
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        match c {
            // Only before a name character: `@ abc` mentions nobody.
            '@' if rest
                .chars()
                .next()
                .is_some_and(|n| n.is_alphanumeric() || n == '-' || n == '_') =>
            {
                out.push_str("&#64;");
                out.push_str(ZWSP);
            }
            '#' => {
                out.push_str("&#35;");
                if rest.chars().next().is_some_and(char::is_alphanumeric) {
                    out.push_str(ZWSP);
                }
            }
            ':' if rest.starts_with("//") => {
                out.push(':');
                out.push_str(ZWSP);
            }
            'w' | 'W'
                if rest
                    .as_bytes()
                    .get(..3)
                    .is_some_and(|b| b.eq_ignore_ascii_case(b"ww.")) =>
            {
                out.push_str(&s[s.len() - rest.len() - 1..][..3]);
                out.push_str(ZWSP);
                rest = &rest[2..];
            }
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '|' => out.push_str("&#124;"),
            '`' => out.push_str("&#96;"),
            '\\' => out.push_str("&#92;"),
            '*' => out.push_str("&#42;"),
            '_' => out.push_str("&#95;"),
            '[' => out.push_str("&#91;"),
            ']' => out.push_str("&#93;"),
            '~' => out.push_str("&#126;"),
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for XML 1.0 attributes and content; drops the control
/// characters XML cannot carry.
pub fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Makes text safe for one line of a terminal or a CI log: control
/// characters (a line feed that would start a `::warning::` workflow
/// command, an escape sequence) are shown as `\n`, `\u{1b}`.
pub fn terminal(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_owned();
    }
    s.chars()
        .map(|c| match c {
            '\n' => "\\n".to_owned(),
            '\r' => "\\r".to_owned(),
            '\t' => "\\t".to_owned(),
            c if c.is_control() => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Escapes a workflow command's message: `%`, CR and LF.
pub fn command_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value: as data, plus `:` and `,`.
pub fn command_property(s: &str) -> String {
    command_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_escaping_defuses_markup() {
        assert_eq!(
            markdown("<img src=x onerror=alert(1)>|`a`*b*[c](d)\nx"),
            "&lt;img src=x onerror=alert(1)&gt;&#124;&#96;a&#96;&#42;b&#42;&#91;c&#93;(d) x"
        );
    }

    #[test]
    fn markdown_mentions_and_links_nobody() {
        assert_eq!(
            markdown("ping @team, o/r#1, https://x and WWW.y"),
            "ping &#64;&#8203;team, o/r&#35;&#8203;1, https:&#8203;//x and WWW&#8203;.y"
        );
        assert_eq!(
            markdown("a:b ww w.x wé wwé @ 1 # 2"),
            "a:b ww w.x wé wwé @ 1 &#35; 2"
        );
    }

    #[test]
    fn xml_escaping_drops_what_xml_cannot_carry() {
        assert_eq!(xml("a<b>&\"'\u{1}\tc"), "a&lt;b&gt;&amp;&quot;&apos;\tc");
    }

    #[test]
    fn workflow_command_escaping() {
        assert_eq!(command_data("50% more\nmemory"), "50%25 more%0Amemory");
        assert_eq!(command_property("a:b,c"), "a%3Ab%2Cc");
    }

    #[test]
    fn terminal_text_stays_on_its_line() {
        assert_eq!(terminal("plain"), "plain");
        assert_eq!(
            terminal("a\n::warning::x\u{1b}[31m"),
            "a\\n::warning::x\\u{1b}[31m"
        );
    }
}
