// Renders web/icons/icon.svg into the PNG icons the web app manifest lists (browsers ask for
// 192 and 512 px PNGs to offer "install"). Run by hand after editing the SVG, then commit the
// PNGs: node scripts/make-icons.mjs (needs tests/node_modules and /usr/bin/chromium).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../tests/harness.mjs';

const icons = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'web', 'icons');
const svg = await readFile(path.join(icons, 'icon.svg'), 'utf8');
const browser = await launchBrowser();
try {
  for (const size of [192, 512]) {
    const page = await browser.newPage({ viewport: { width: size, height: size } });
    const src = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
    await page.setContent(`<style>*{margin:0}</style><img src="${src}" width="${size}" height="${size}">`);
    await page.waitForFunction(() => document.images[0].complete);
    await page.screenshot({ path: path.join(icons, `icon-${size}.png`), omitBackground: true });
    await page.close();
    console.log(`web/icons/icon-${size}.png`);
  }
} finally {
  await browser.close();
}
