#!/usr/bin/env python3
"""Offline stand-in for `terraform validate` (no terraform binary here).

For every directory under infra/ holding .tf files:
  * every file parses with python-hcl2;
  * every var.X, local.X, module.X(.Y) reference names something declared;
  * every variable is used somewhere (unused inputs rot);
  * every module call passes only variables the module declares and all the
    ones it requires (no default), and module.M.O names an output of M;
  * root modules (environments/*) pin required_version and providers exactly,
    and use an S3 backend with encrypt and use_lockfile;
  * variables and outputs carry a description;
  * every moved block's `to` names a resource declared here or in the named
    module call's module, and its `from` is no longer declared.
Prints one line per problem and exits 1 if there is any.
"""

import glob
import os
import re
import sys

import hcl2

ROOT = sys.argv[1] if len(sys.argv) > 1 else "infra"
problems = []


def strip_comments(text):
    out = []
    for line in text.splitlines():
        cut, in_str, esc = None, False, False
        for i, ch in enumerate(line):
            if in_str:
                if esc:
                    esc = False
                elif ch == "\\":
                    esc = True
                elif ch == '"':
                    in_str = False
                continue
            if ch == '"':
                in_str = True
            elif ch == "#" or line.startswith("//", i):
                cut = i
                break
        out.append(line if cut is None else line[:cut])
    return "\n".join(out)


MOVED_BLOCK = re.compile(r"^moved\s*\{.*?^\}", re.DOTALL | re.MULTILINE)
ADDRESS = re.compile(r"^\$\{(?:module\.([A-Za-z_][A-Za-z0-9_-]*)\.)?([A-Za-z_][A-Za-z0-9_-]*\.[A-Za-z_][A-Za-z0-9_-]*)(?:\[[^\]]+\])?\}$")


def load_dir(path):
    blocks = {"variable": {}, "output": {}, "locals": set(), "module": {}, "terraform": [],
              "resource": set(), "moved": []}
    text = ""
    for f in sorted(glob.glob(os.path.join(path, "*.tf"))):
        raw = open(f, encoding="utf-8").read()
        try:
            doc = hcl2.loads(raw)
        except Exception as e:  # noqa: BLE001 - report any parser error
            problems.append(f"{f}: does not parse: {e}")
            continue
        # moved blocks hold resource addresses (module.M.type.name), not
        # references: they are checked on their own below.
        text += MOVED_BLOCK.sub("", strip_comments(raw)) + "\n"
        for r in doc.get("resource", []):
            for rtype, named in r.items():
                blocks["resource"].update(f"{rtype}.{name}" for name in named)
        for mv in doc.get("moved", []):
            blocks["moved"].append((f, un(mv.get("from")), un(mv.get("to"))))
        for v in doc.get("variable", []):
            for name, body in v.items():
                blocks["variable"][name] = (f, body)
        for o in doc.get("output", []):
            for name, body in o.items():
                blocks["output"][name] = (f, body)
        for loc in doc.get("locals", []):
            blocks["locals"].update(loc.keys())
        for m in doc.get("module", []):
            for name, body in m.items():
                blocks["module"][name] = (f, body)
        blocks["terraform"].extend(doc.get("terraform", []))
    return blocks, text


def un(value):
    """python-hcl2 8 wraps attribute values in one-element lists."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


dirs = sorted({os.path.dirname(f) for f in glob.glob(os.path.join(ROOT, "**", "*.tf"), recursive=True)})
loaded = {d: load_dir(d) for d in dirs}

for d, (b, text) in loaded.items():
    for kind in ("variable", "output"):
        for name, (f, body) in b[kind].items():
            if name.startswith("__"):
                continue
            if not un(body.get("description")):
                problems.append(f"{f}: {kind} {name} has no description")
    used_vars = set(re.findall(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)", text))
    for v in sorted(used_vars - set(b["variable"])):
        problems.append(f"{d}: var.{v} is used but not declared")
    for v in sorted(set(b["variable"]) - used_vars):
        problems.append(f"{d}: variable {v} is declared but never used")
    for loc in sorted(set(re.findall(r"\blocal\.([A-Za-z_][A-Za-z0-9_]*)", text)) - b["locals"]):
        problems.append(f"{d}: local.{loc} is used but not declared")

    for mname, (f, body) in b["module"].items():
        src = un(body.get("source", ""))
        if not src.startswith("."):
            problems.append(f"{f}: module {mname}: only local modules are expected, got {src}")
            continue
        target = os.path.normpath(os.path.join(d, src))
        if target not in loaded:
            problems.append(f"{f}: module {mname}: no module at {target}")
            continue
        mb = loaded[target][0]
        meta = {"source", "providers", "count", "for_each", "depends_on", "version"}
        for arg in body:
            if arg.startswith("__"):
                continue
            if arg not in meta and arg not in mb["variable"] and not arg.startswith("__"):
                problems.append(f"{f}: module {mname} passes {arg}, which {target} does not declare")
        for vname, (_, vbody) in mb["variable"].items():
            if vname.startswith("__"):
                continue
            if "default" not in vbody and vname not in body:
                problems.append(f"{f}: module {mname} does not pass required variable {vname}")
        for out in sorted(set(re.findall(r"\bmodule\." + re.escape(mname) + r"\.([A-Za-z_][A-Za-z0-9_]*)", text))):
            if out not in mb["output"]:
                problems.append(f"{d}: module.{mname}.{out}: {target} has no such output")
    for m in sorted(set(re.findall(r"\bmodule\.([A-Za-z_][A-Za-z0-9_]*)", text)) - set(b["module"])):
        problems.append(f"{d}: module.{m} is referenced but not declared")

    for f, src, dst in b["moved"]:
        parsed = [ADDRESS.match(str(a)) for a in (src, dst)]
        if not all(parsed):
            problems.append(f"{f}: moved block {src} -> {dst}: expected resource addresses")
            continue
        (src_mod, src_res), (dst_mod, dst_res) = (m.groups() for m in parsed)
        if dst_mod is None:
            ok = dst_res in b["resource"]
        elif dst_mod in b["module"]:
            dst_src = un(b["module"][dst_mod][1].get("source", ""))
            target = os.path.normpath(os.path.join(d, dst_src))
            ok = target in loaded and dst_res in loaded[target][0]["resource"]
        else:
            ok = False
        if not ok:
            problems.append(f"{f}: moved block: {dst} is not declared")
        if src_mod is None and src_res in b["resource"] and (src_res, None) != (dst_res, dst_mod):
            problems.append(f"{f}: moved block: {src} is still declared")

    if os.sep + "environments" + os.sep in d + os.sep:
        tf = {k: v for blk in b["terraform"] for k, v in blk.items()}
        rv = str(un(tf.get("required_version", "")))
        if not re.fullmatch(r"\d+\.\d+\.\d+", rv):
            problems.append(f"{d}: required_version must be an exact version, got {rv!r}")
        for provs in tf.get("required_providers", []):
            for pname, spec in provs.items():
                if pname.startswith("__"):
                    continue
                version = un(un(spec).get("version", ""))
                if not re.fullmatch(r"\d+\.\d+\.\d+", str(version)):
                    problems.append(f"{d}: provider {pname} must be pinned exactly, got {version!r}")
        backend = tf.get("backend", [])
        s3 = [x["s3"] for x in backend if "s3" in x]
        if not s3:
            problems.append(f"{d}: no s3 backend")
        else:
            if un(s3[0].get("encrypt")) is not True or un(s3[0].get("use_lockfile")) is not True:
                problems.append(f"{d}: s3 backend needs encrypt = true and use_lockfile = true")

for p in problems:
    print(p)
print(f"tf-check: {len(dirs)} directories, {len(problems)} problems")
sys.exit(1 if problems else 0)
