"""The quality report rendered: charts, the PDF (WeasyPrint from a Jinja template), the XLSX."""
