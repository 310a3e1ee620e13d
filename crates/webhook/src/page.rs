//! The small HTML pages an athlete sees after connecting.

use crate::HttpResponse;

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

pub fn html(status: u16, title: &str, message: &str) -> HttpResponse {
    HttpResponse {
        status,
        content_type: "text/html; charset=utf-8",
        headers: vec![("cache-control", "no-store".to_string())],
        body: format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body style=\"font-family:sans-serif;max-width:36em;margin:4em auto\"><h1>{t}</h1><p>{m}</p></body></html>",
            t = escape(title),
            m = escape(message)
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_names() {
        let p = super::html(200, "Hi <b>", "x & y");
        assert!(p.body.contains("Hi &lt;b&gt;") && p.body.contains("x &amp; y"));
    }
}
