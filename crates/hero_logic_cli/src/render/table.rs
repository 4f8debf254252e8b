//! Plain left-aligned text tables (`plays`, `bench`).

/// Columns padded to their widest cell, two spaces apart; the last column is not padded, so
/// a long last cell (an error message) leaves no trailing blanks.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..headers.len())
        .map(|col| {
            let cells = rows.iter().filter_map(|row| row.get(col)).map(|c| c.chars().count());
            cells.chain([headers[col].chars().count()]).max().unwrap_or(0)
        })
        .collect();
    let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    std::iter::once(&header).chain(rows).map(|row| line(row, &widths)).collect::<Vec<_>>().join("\n")
}

fn line(row: &[String], widths: &[usize]) -> String {
    let last = row.len().saturating_sub(1);
    let cells = row.iter().enumerate().map(|(col, cell)| {
        if col == last {
            cell.clone()
        } else {
            let pad = widths.get(col).copied().unwrap_or(0).saturating_sub(cell.chars().count());
            format!("{cell}{}", " ".repeat(pad))
        }
    });
    cells.collect::<Vec<_>>().join("  ").trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let rows = vec![
            vec!["000a".to_string(), "success".to_string(), "".to_string()],
            vec!["000b".to_string(), "failed".to_string(), "boom".to_string()],
        ];
        let text = table(&["SID", "STATUS", "ERROR"], &rows);
        assert_eq!(text, "SID   STATUS   ERROR\n000a  success\n000b  failed   boom");
    }
}
