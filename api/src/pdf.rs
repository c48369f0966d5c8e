//! Lays a written document out as a government notice and renders it to PDF: title, number,
//! addressee, body paragraphs (indented two characters, wrapped), issuing unit and date at the
//! foot. The text is embedded with a CJK font (subset to the glyphs used), so it can be
//! searched, copied and read back.
//!
//! The font is the one named by `--pdf-font`, or else the GB 2312 subset of WenQuanYi Micro Hei
//! built into the binary (`api/assets/fonts`), so a fresh machine needs nothing.

use crate::error::{AppError, Result};
use krilla::Document;
use krilla::geom::Point;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::text::{Font, TextDirection};
use std::sync::{Arc, OnceLock};

/// The font built into the binary (see `api/assets/fonts/NOTICE.md`).
static BUILT_IN_FONT: &[u8] = include_bytes!("../assets/fonts/WenQuanYiMicroHei-GB2312.ttf");

/// The font every document is set in, chosen once at start-up.
static FONT: OnceLock<Typeface> = OnceLock::new();

struct Typeface {
    data: Arc<Vec<u8>>,
    font: Font,
}

/// Chooses the font documents are set in: the file at `path`, or the built-in one. A file
/// that is missing or not a font stops the server at start-up with the reason.
pub fn configure_font(path: Option<&std::path::Path>) -> std::result::Result<(), String> {
    let data = match path {
        Some(p) => std::fs::read(p)
            .map_err(|e| format!("--pdf-font {}: cannot be read: {e}", p.display()))?,
        None => BUILT_IN_FONT.to_vec(),
    };
    let typeface = typeface(data).ok_or_else(|| {
        format!(
            "--pdf-font {}: not a TrueType or OpenType font",
            path.map(|p| p.display().to_string()).unwrap_or_default()
        )
    })?;
    if let Some(p) = path
        && !covers(&typeface, "信访事项受理告知书")
    {
        return Err(format!(
            "--pdf-font {}: the font has no Chinese glyphs; name a CJK font (for example Noto Sans CJK SC)",
            p.display()
        ));
    }
    // A second call (tests start several servers in one process) keeps the first choice.
    let _ = FONT.set(typeface);
    Ok(())
}

fn typeface(data: Vec<u8>) -> Option<Typeface> {
    let data = Arc::new(data);
    ttf_parser::Face::parse(&data, 0).ok()?;
    let font = Font::new(data.clone().into(), 0)?;
    Some(Typeface { data, font })
}

fn covers(t: &Typeface, text: &str) -> bool {
    ttf_parser::Face::parse(&t.data, 0)
        .map(|face| text.chars().all(|c| face.glyph_index(c).is_some()))
        .unwrap_or(false)
}

fn font() -> Result<&'static Typeface> {
    if FONT.get().is_none() {
        configure_font(None).map_err(AppError::Internal)?;
    }
    FONT.get()
        .ok_or_else(|| AppError::Internal("no font for documents".into()))
}

/// A document ready to be laid out.
pub struct Letter<'a> {
    /// 受理告知书, …
    pub title: &'a str,
    /// 文号
    pub number: &'a str,
    /// `张三：` — the addressee line, if the document has one.
    pub addressee: Option<&'a str>,
    pub paragraphs: Vec<String>,
    /// The issuing unit, printed at the foot.
    pub issuer: &'a str,
    /// `2026年12月2日`
    pub date: &'a str,
    /// A line printed small at the very bottom (a correction note, the query code).
    pub footnote: Option<String>,
}

// A4 in points, with 25 mm side margins and 37 mm top margin as GB/T 9704 sets them.
const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN_X: f32 = 79.0;
const MARGIN_TOP: f32 = 105.0;
const MARGIN_BOTTOM: f32 = 100.0;
const TITLE_SIZE: f32 = 22.0;
const BODY_SIZE: f32 = 16.0;
const SMALL_SIZE: f32 = 10.5;
const LINE: f32 = 28.0;

/// The width of `text` set at `size`, from the font's advances.
fn width(face: &ttf_parser::Face<'_>, text: &str, size: f32) -> f32 {
    let per_unit = size / f32::from(face.units_per_em());
    text.chars()
        .map(|c| {
            face.glyph_index(c)
                .and_then(|g| face.glyph_hor_advance(g))
                .map(|a| f32::from(a) * per_unit)
                // A character the font lacks still takes a square's room.
                .unwrap_or(size)
        })
        .sum()
}

/// Breaks a paragraph into lines no wider than `max` (Chinese text breaks between any two
/// characters; a line does not start with closing punctuation).
fn wrap(
    face: &ttf_parser::Face<'_>,
    text: &str,
    size: f32,
    first_indent: f32,
    max: f32,
) -> Vec<String> {
    const NO_LINE_START: &str = "，。、；：？！）》」』〕】”’,.;:?!)";
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = first_indent;
    for c in text.chars() {
        let w = width(face, c.encode_utf8(&mut [0; 4]), size);
        if used + w > max && !line.is_empty() && !NO_LINE_START.contains(c) {
            lines.push(std::mem::take(&mut line));
            used = 0.0;
        }
        line.push(c);
        used += w;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Renders the letter to a PDF file's bytes.
pub fn render(letter: &Letter<'_>) -> Result<Vec<u8>> {
    let t = font()?;
    let face = ttf_parser::Face::parse(&t.data, 0)
        .map_err(|e| AppError::Internal(format!("font: {e}")))?;
    let text_width = PAGE_W - 2.0 * MARGIN_X;
    let indent = 2.0 * BODY_SIZE;

    // Every line with its position, paginated.
    struct Run {
        x: f32,
        size: f32,
        text: String,
    }
    let mut pages: Vec<Vec<(f32, Run)>> = vec![vec![]];
    let mut y = MARGIN_TOP;
    let put = |pages: &mut Vec<Vec<(f32, Run)>>, y: &mut f32, advance: f32, run: Run| {
        if *y + advance > PAGE_H - MARGIN_BOTTOM {
            pages.push(vec![]);
            *y = MARGIN_TOP;
        }
        *y += advance;
        pages.last_mut().expect("a page").push((*y, run));
    };
    let centred = |text: &str, size: f32| Run {
        x: (PAGE_W - width(&face, text, size)) / 2.0,
        size,
        text: text.to_string(),
    };
    put(
        &mut pages,
        &mut y,
        TITLE_SIZE,
        centred(letter.title, TITLE_SIZE),
    );
    put(&mut pages, &mut y, LINE, centred(letter.number, BODY_SIZE));
    y += LINE / 2.0;
    if let Some(to) = letter.addressee {
        put(
            &mut pages,
            &mut y,
            LINE,
            Run {
                x: MARGIN_X,
                size: BODY_SIZE,
                text: format!("{to}："),
            },
        );
    }
    for paragraph in &letter.paragraphs {
        for (i, line) in wrap(&face, paragraph, BODY_SIZE, indent, text_width)
            .into_iter()
            .enumerate()
        {
            let x = if i == 0 { MARGIN_X + indent } else { MARGIN_X };
            put(
                &mut pages,
                &mut y,
                LINE,
                Run {
                    x,
                    size: BODY_SIZE,
                    text: line,
                },
            );
        }
    }
    y += LINE;
    let right = |text: &str| Run {
        x: PAGE_W - MARGIN_X - width(&face, text, BODY_SIZE) - 2.0 * BODY_SIZE,
        size: BODY_SIZE,
        text: text.to_string(),
    };
    put(&mut pages, &mut y, LINE, right(letter.issuer));
    put(&mut pages, &mut y, LINE, right(letter.date));
    if let Some(note) = &letter.footnote {
        y += LINE / 2.0;
        for line in wrap(&face, note, SMALL_SIZE, 0.0, text_width) {
            put(
                &mut pages,
                &mut y,
                SMALL_SIZE * 1.6,
                Run {
                    x: MARGIN_X,
                    size: SMALL_SIZE,
                    text: line,
                },
            );
        }
    }

    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(format!("{} {}", letter.title, letter.number))
            .creator("Xinfang".to_string()),
    );
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
        .ok_or_else(|| AppError::Internal("page size".into()))?;
    for runs in pages {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        for (y, run) in runs {
            surface.draw_text(
                Point::from_xy(run.x, y),
                t.font.clone(),
                run.size,
                &run.text,
                false,
                TextDirection::Auto,
            );
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| AppError::Internal(format!("PDF: {e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_paragraphs_wrap_within_the_text_width() {
        let t = font().unwrap();
        let face = ttf_parser::Face::parse(&t.data, 0).unwrap();
        let text = "经审查，你反映的问题属于本机关职责范围，符合受理条件，现予受理。".repeat(4);
        let lines = wrap(
            &face,
            &text,
            BODY_SIZE,
            2.0 * BODY_SIZE,
            PAGE_W - 2.0 * MARGIN_X,
        );
        assert!(lines.len() > 3, "{lines:?}");
        assert_eq!(lines.concat(), text, "nothing lost in wrapping");
        for line in &lines[1..] {
            assert!(!line.starts_with('，') && !line.starts_with('。'), "{line}");
            assert!(width(&face, line, BODY_SIZE) <= PAGE_W - 2.0 * MARGIN_X + BODY_SIZE);
        }
    }

    #[test]
    fn the_built_in_font_covers_common_chinese() {
        let t = font().unwrap();
        assert!(covers(
            t,
            "信访事项受理告知书〔2026〕１２号，张三：清河县信访局"
        ));
    }
}
