import { getQuickJS } from './src/quickjs.ts';
const q = await getQuickJS();
function probe(dispose: boolean) {
  const rt = q.newRuntime(); rt.setMemoryLimit(64*1024*1024); rt.setMaxStackSize(262144);
  const ctx = rt.newContext();
  const r = ctx.evalCode(`var d=0; try { function f(n){d=n; return f(n+1)+1} f(0) } catch (e) { d }`);
  const v = ctx.dump(r.value); r.dispose(); if (dispose) { ctx.dispose(); rt.dispose(); } return v;
}
console.log('before', probe(true));
let traps = 0;
for (let i = 0; i < 300; i++) {
  const rt = q.newRuntime(); rt.setMemoryLimit(64*1024*1024); rt.setMaxStackSize(262144);
  const ctx = rt.newContext();
  try { ctx.evalCode(`var s=''; for (var i=0;i<200000;i++) s+='['; JSON.parse(s)`); } catch (e) { traps++; }
  
}
console.log('traps', traps, 'after', probe(true));
const m = process.memoryUsage(); console.log(Math.round(m.rss/1e6), 'MB rss');
