#!/usr/bin/env python3
# Interleaved A/B of plugin builds on one generated link (wall and CPU
# medians against the plain link), for comparing two builds of the plugin
# where cargo bench --bench link_overhead compares plain and one build:
#
#     bench/plugin_ab.py DIR ROUNDS bfd|gold NAME="EXTRA ARGS" ...
#
# DIR is a link_overhead shape directory (target/bench/link-SHAPE-N, with
# its src/m*.o and state1-LINKER / state2-LINKER); {L} in the arguments
# becomes the linker. Each round removes the Run-1 records and Run-2
# results first, as link_overhead does. Example (the small link):
#
#     D=target/bench/link-c-1
#     bench/plugin_ab.py $D 101 bfd \
#         "old=-Wl,-plugin,/tmp/old.so -Wl,-plugin-opt=run=2 -Wl,-plugin-opt=state=$D/state2-{L}" \
#         "new=-Wl,-plugin,target/release/libldprune.so -Wl,-plugin-opt=run=2 -Wl,-plugin-opt=state=$D/state2-{L}"
import os, sys, time, statistics as st, subprocess, glob, shlex
d=sys.argv[1]; R=int(sys.argv[2]); L=sys.argv[3]
os.chdir(d)
objs=sorted(glob.glob("src/m*.o"), key=lambda p:int(p[5:-2]))
drv="g++" if "cxx" in d else "gcc"
cfgs=[("plain",[])]+[(a.split("=",1)[0], shlex.split(a.split("=",1)[1].replace("{L}",L))) for a in sys.argv[4:]]
def one(c):
    for f in glob.glob(f"{d}/state1-{L}/links/*")+glob.glob(f"{d}/state2-{L}/applied/*"): os.remove(f)
    t=time.perf_counter()
    p=subprocess.Popen([drv,f"-fuse-ld={L}","-shared","-Wl,--gc-sections","-o","libbig.so",*objs,*c[1]])
    _,s,ru=os.wait4(p.pid,0); w=time.perf_counter()-t; assert s==0, c[0]
    return (w, ru.ru_utime+ru.ru_stime)
res={c[0]:[] for c in cfgs}
for r in range(R+1):
    for c in (cfgs if r%2 else cfgs[::-1]):
        x=one(c)
        if r: res[c[0]].append(x)
m=lambda n,k: st.median(x[k] for x in res[n])
b=(m("plain",0),m("plain",1))
print(f"{os.path.basename(d)} {L} {R} rounds plain wall {b[0]*1e3:.2f} ms cpu {b[1]*1e3:.2f} ms load {os.getloadavg()[0]:.2f}")
for c in cfgs[1:]:
    n=c[0]; print(f"  {n}: wall {m(n,0)*1e3:.2f} (+{(m(n,0)-b[0])*1e3:.2f}, {m(n,0)/b[0]:.3f}) cpu {m(n,1)*1e3:.2f} (+{(m(n,1)-b[1])*1e3:.2f}, {m(n,1)/b[1]:.3f})")
