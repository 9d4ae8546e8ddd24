// Text that runs into other text: pairs of line boxes from different text nodes that overlap by more than
// 30% of the smaller box's area (issue 16).  Line boxes are Range.getClientRects() of each visible text
// node (one rect per line fragment), cut to what the boxes around it show (overflow hidden or clip, clip,
// clip-path: a visually hidden skip link is not text a reader sees); shared by tools/audit_modes.py and
// tests/test_elder_layout.py.
// Also counts clipped text as audit.py does: text nodes partly shown and partly cut off by a box that clips
// them (a line of a fixed-height box's wrapped text hidden below it).
// Returns {pairs, examples: [[text, text, x, y], ...] (at most 20), boxes, clipped, clippedExamples}.
() => {
  const boxes = [];
  const walker = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  let node, id = 0, clipped = 0;
  const clippedExamples = [];
  // The part of the page an element's content can show in (document coordinates), memoized per element.
  const clips = new Map();
  const clipOf = (element) => {
    if (!element || element === document.documentElement) return null;
    if (clips.has(element)) return clips.get(element);
    let clip = clipOf(element.parentElement);
    const s = getComputedStyle(element);
    if (s.position === 'fixed') clip = null;  // (escapes the boxes around it)
    // (body's overflow, when html's is visible, applies to the viewport; auto and scroll scroll, they do not hide)
    const viewport = element === document.body && getComputedStyle(document.documentElement).overflowX === 'visible'
        && getComputedStyle(document.documentElement).overflowY === 'visible';
    const hidesX = !viewport && /hidden|clip/.test(s.overflowX), hidesY = !viewport && /hidden|clip/.test(s.overflowY);
    if (hidesX || hidesY || s.clip !== 'auto' || s.clipPath !== 'none') {
      const r = element.getBoundingClientRect();
      const own = {top: -Infinity, bottom: Infinity, left: -Infinity, right: Infinity};
      if (hidesX || s.clip !== 'auto' || s.clipPath !== 'none') { own.left = r.left + scrollX; own.right = r.right + scrollX; }
      if (hidesY || s.clip !== 'auto' || s.clipPath !== 'none') { own.top = r.top + scrollY; own.bottom = r.bottom + scrollY; }
      if (s.clipPath !== 'none' && /inset\(50%/.test(s.clipPath)) own.bottom = own.top;  // nothing shows
      clip = clip ? {top: Math.max(clip.top, own.top), bottom: Math.min(clip.bottom, own.bottom),
                     left: Math.max(clip.left, own.left), right: Math.min(clip.right, own.right)} : own;
    }
    clips.set(element, clip);
    return clip;
  };
  while ((node = walker.nextNode())) {
    if (!node.data.trim()) continue;
    const parent = node.parentElement;
    if (!parent) continue;
    const style = getComputedStyle(parent);
    if (style.visibility !== 'visible' || parseFloat(style.opacity) === 0) continue;
    range.selectNodeContents(node);
    id++;
    const clip = clipOf(parent);
    let shown = false, cut = false;
    for (const r of range.getClientRects()) {
      const box = {id, top: r.top + scrollY, bottom: r.bottom + scrollY, left: r.left + scrollX,
                   right: r.right + scrollX, node};
      if (clip && r.width >= 1 && r.height >= 1 && (box.bottom > clip.bottom + 1 || box.right > clip.right + 1 ||
                                                     box.top < clip.top - 1 || box.left < clip.left - 1)) cut = true;
      if (clip) {
        box.top = Math.max(box.top, clip.top); box.bottom = Math.min(box.bottom, clip.bottom);
        box.left = Math.max(box.left, clip.left); box.right = Math.min(box.right, clip.right);
      }
      if (box.right - box.left < 1 || box.bottom - box.top < 1) continue;  // hidden, collapsed spaces
      box.area = (box.right - box.left) * (box.bottom - box.top);
      boxes.push(box);
      shown = true;
    }
    if (shown && cut) {
      clipped++;
      if (clippedExamples.length < 20) clippedExamples.push(node.data.trim().slice(0, 40));
    }
  }
  // Sweep down the page: only boxes whose vertical ranges meet can overlap (linear-ish on real pages).
  boxes.sort((a, b) => a.top - b.top);
  let pairs = 0;
  const examples = [];
  for (let i = 0; i < boxes.length; i++) {
    const a = boxes[i];
    for (let j = i + 1; j < boxes.length && boxes[j].top < a.bottom; j++) {
      const b = boxes[j];
      if (a.id === b.id) continue;
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w <= 0 || h <= 0) continue;
      if (w * h > 0.3 * Math.min(a.area, b.area)) {
        pairs++;
        if (examples.length < 20) {
          examples.push([a.node.data.trim().slice(0, 40), b.node.data.trim().slice(0, 40),
                         Math.round(Math.max(a.left, b.left)), Math.round(Math.max(a.top, b.top))]);
        }
      }
    }
  }
  return {pairs, examples, boxes: boxes.length, clipped, clippedExamples};
}
