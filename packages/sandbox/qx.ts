import { getQuickJS } from './src/quickjs.ts';
const q = await getQuickJS();
for (const size of [1024*1024, 512*1024, 256*1024, 128*1024]) {
const rt = q.newRuntime(); rt.setMemoryLimit(16*1024*1024); rt.setMaxStackSize(size);
const ctx = rt.newContext();
try {
for (const code of [
  `var d=0; try { function f(n){d=n; return f(n+1)+1} f(0) } catch (e) { [e.name, e.message, d] }`,
  `var d=0; try { function g(n){d=n; var o = {a:n, b:[n]}; return JSON.parse(JSON.stringify(o)) && g(n+1)} g(0) } catch (e) { [e.name, e.message, d] }`,
]) { const r = ctx.evalCode(code); if (r.error) { console.log(size, 'ERR', ctx.dump(r.error)); } else { console.log(size, ctx.dump(r.value)); } }
} catch (e) { console.log(size, 'host', String(e)); }
}
