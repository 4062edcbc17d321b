# gdb script of `cargo xtask layouts`: reads, from a running official node build, the facts its
# layout table records. Run as
#   CORONER_REQUEST=req.json CORONER_RESULT=out.json CORONER_NAMES=names.txt gdb -q -batch -nx -x read-build.py --args node -e 0
# The request lists the postmortem symbols (name, address, size) the xtask found in the
# executable's symbol table; this script reads each one's value once static initialisers have
# run (at `main`: some nodedbg_* offsets are computed at start-up and live in .bss), then asks
# V8's own `operator<<(std::ostream&, InstanceType)` of this binary for the name of every
# instance type number below `max_instance_type`, one line per number in CORONER_NAMES.
import json
import os

import gdb

gdb.execute("set pagination off")
gdb.execute("set confirm off")
request = json.load(open(os.environ["CORONER_REQUEST"]))
gdb.execute("break main")
gdb.execute("run > %s" % os.environ["CORONER_NAMES"])
inferior = gdb.selected_inferior()


def read_int(address, size):
    raw = inferior.read_memory(address, size).tobytes()
    return int.from_bytes(raw, "little", signed=True)


values = {}
for sym in request["symbols"]:
    values[sym["name"]] = read_int(sym["address"], sym["size"])

# `operator<<(std::ostream&, InstanceType)` exists in every version (ToString, which returns a
# std::string, only from V8 12.x on). Each name is written to std::cout, which the `run` above
# sends to a file, followed by a newline from puts (cout is synchronised with stdio). Before V8
# 12.x an unnamed number aborts the process inside the call (UNREACHABLE); unwindonsignal makes
# gdb take the call back, and the line stays empty.
gdb.execute("set unwindonsignal on")
call = "((void*(*)(void*,int))_ZN2v88internallsERSoNS0_12InstanceTypeE)((void*)&_ZSt4cout, %d)"
for number in range(request["max_instance_type"]):
    try:
        gdb.parse_and_eval(call % number)
    except gdb.error:
        pass
    gdb.parse_and_eval('(int)puts("")')
gdb.parse_and_eval("(int)fflush(0)")

json.dump({"values": values}, open(os.environ["CORONER_RESULT"], "w"))
gdb.execute("kill")
