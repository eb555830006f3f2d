/**
 * Draws the shape of an LSM tree as an SVG picture (`lsm-rust stats <dir> --svg
 * shape.svg`): one row per non-empty level, top to bottom; each table a
 * segment whose width is proportional to its bytes (one scale for the whole
 * picture, so the widest row is the largest level); tables laid out in key
 * order, with the level's smallest and largest key at the row's ends and each
 * table's key range in its tooltip.
 */

/** A table as the picture needs it. */
export interface ShapeTable {
  fileNumber: number
  bytes: number
  /** Smallest and largest user key, already formatted for display. */
  smallest: string
  largest: string
  entries?: number
}

/** A level as the picture needs it. */
export interface ShapeLevel {
  level: number
  /** The level's tables in key order (by smallest key), drawn left to right. */
  tables: ShapeTable[]
  /** The level's smallest and largest key, for the row's ends (default: the first table's smallest, the last table's largest). */
  smallest?: string
  largest?: string
}

/** Layout options of {@link renderShapeSvg}. */
export interface ShapeSvgOptions {
  /** Width in pixels of the largest level's row (default 800). */
  width?: number
  /** Height of a row's segments (default 28). */
  rowHeight?: number
  /** A title line at the top. */
  title?: string
}

const escapeXml = (s: string): string =>
  s.replace(/[<>&"']/g, c => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!)

const shorten = (s: string, n = 24): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s)

/** Bytes as B / KiB / MiB / GiB with one decimal. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`
}

// Level colours, from the memtable side (warm) to the bottom (cool).
const COLOURS = ['#e4572e', '#f3a712', '#a8c686', '#669bbc', '#4f6d7a', '#29335c', '#3c1642']

/**
 * The SVG document (a string). Segments are `<rect class="table">` with
 * `data-level`, `data-file`, `data-bytes` and a `<title>`; each row is a
 * `<g class="level" data-level=…>`.
 */
export function renderShapeSvg(levels: readonly ShapeLevel[], options: ShapeSvgOptions = {}): string {
  const width = options.width ?? 800
  const rowH = options.rowHeight ?? 28
  const labelW = 170
  const gap = 30
  const top = options.title ? 40 : 16
  const rows = levels.filter(l => l.tables.length > 0)
  const levelBytes = (l: ShapeLevel) => l.tables.reduce((n, t) => n + t.bytes, 0)
  const maxBytes = Math.max(1, ...rows.map(levelBytes))
  const scale = width / maxBytes
  const height = top + rows.length * (rowH + gap) + 10
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + width + 20}" height="${height}" viewBox="0 0 ${labelW + width + 20} ${height}" font-family="sans-serif" font-size="11">`)
  out.push(`<rect x="0" y="0" width="${labelW + width + 20}" height="${height}" fill="#ffffff"/>`)
  if (options.title) out.push(`<text x="10" y="22" font-size="14" font-weight="bold">${escapeXml(options.title)}</text>`)
  rows.forEach((l, r) => {
    const y = top + r * (rowH + gap)
    const tables = l.tables
    const bytes = levelBytes(l)
    const colour = COLOURS[Math.min(l.level, COLOURS.length - 1)]!
    out.push(`<g class="level" data-level="${l.level}" data-files="${tables.length}" data-bytes="${bytes}">`)
    out.push(`<text x="10" y="${y + rowH / 2 + 4}">${escapeXml(`L${l.level} · ${tables.length} file${tables.length === 1 ? '' : 's'} · ${formatBytes(bytes)}`)}</text>`)
    let x = labelW
    for (const t of tables) {
      const w = Math.round(t.bytes * scale * 100) / 100
      const tip = `${String(t.fileNumber).padStart(6, '0')}.sst  ${t.smallest} … ${t.largest}  ${formatBytes(t.bytes)}${t.entries !== undefined ? `  ${t.entries} entries` : ''}`
      out.push(`<rect class="table" x="${Math.round(x * 100) / 100}" y="${y}" width="${w}" height="${rowH}" fill="${colour}" stroke="#ffffff" stroke-width="1" data-level="${l.level}" data-file="${t.fileNumber}" data-bytes="${t.bytes}"><title>${escapeXml(tip)}</title></rect>`)
      x += t.bytes * scale
    }
    const lo = l.smallest ?? tables[0]!.smallest
    const hi = l.largest ?? tables[tables.length - 1]!.largest
    out.push(`<text class="key-lo" x="${labelW}" y="${y + rowH + 13}" fill="#555555">${escapeXml(shorten(lo))}</text>`)
    out.push(`<text class="key-hi" x="${Math.max(labelW + 60, Math.round(x * 100) / 100)}" y="${y + rowH + 13}" fill="#555555" text-anchor="end">${escapeXml(shorten(hi))}</text>`)
    out.push('</g>')
  })
  if (rows.length === 0) out.push(`<text x="10" y="${top + 14}">(no tables)</text>`)
  out.push('</svg>')
  return out.join('\n') + '\n'
}
