#!/usr/bin/env python3
"""Write 2025-schema (tree `analysis`, GeV) Monte Carlo stand-ins from the real data15 period D events.

The 2025 notebook's MC samples are hundreds of MB each and not here. These files hold the real
events of ODEO_FEB2025_v0_exactly4lep_data15_periodD.exactly4lep.root (kinematics, charges, types,
triggers) plus the MC branches the notebook's weight reads, which data has as 0 or 1: filteff,
kfac, xsec and sum_of_weights per file, mcWeight (some negative: the notebook takes |w|) and the
four scale factors per event, from a seeded generator. They are NOT physics: each tree is titled
"hzz stand-in: ..." (STAND_IN_TITLE in core/contracts/messages.ts), which hzz marks on every run.

uproot writes no RVec, so the lepton collections are counted arrays sharing the Int_t counter
`lep_n` (what scripts/make_root_files.py does for the 2020 schema), in baskets of --basket-entries.
  <ZZ file>   the events as stored (few pass the ID and isolation cut, as in data)
  <ggH file>  the same events with ID, isolation and trigger-match flags set for 95% of the leptons,
              so that every cut keeps events and the m4l bins fill, and every fifth event with a
              fifth lepton (a copy of its first): the notebook's trigger-match and ID sums run over
              every lepton, its type and charge sums and m4l over the first four
"""

import argparse
import os

import awkward as ak
import numpy as np
import uproot

SOURCE = "ODEO_FEB2025_v0_exactly4lep_data15_periodD.exactly4lep.root"
TREE = "analysis"
LEPTON = {"pt": "float32", "eta": "float32", "phi": "float32", "e": "float32", "charge": "int32", "type": "int32",
          "isTrigMatched": "bool", "isLooseID": "bool", "isMediumID": "bool", "isLooseIso": "bool"}
FLAGS = ["isTrigMatched", "isLooseID", "isMediumID", "isLooseIso"]
SCALE_FACTORS = ["ScaleFactor_PILEUP", "ScaleFactor_ELE", "ScaleFactor_MUON", "ScaleFactor_LepTRIGGER"]
SCALARS = {"trigE": "bool", "trigM": "bool", "channelNumber": "uint32", "sum_of_weights": "float64",
           "filteff": "float32", "kfac": "float32", "xsec": "float32", "mcWeight": "float32",
           **{name: "float32" for name in SCALE_FACTORS}}
STAND_IN_TITLE = "hzz stand-in"

# file name (the release's own), DSID, per-file constants (xsec pb, filteff, kfac, sum_of_weights), whether flags are set
STANDINS = {
    "ODEO_FEB2025_v0_exactly4lep_mc_700600.Sh_2212_llll.exactly4lep.root": (700600, (1.2523, 1.0, 1.0, 98765.4321), False),
    "ODEO_FEB2025_v0_exactly4lep_mc_345060.PowhegPythia8EvtGen_NNLOPS_nnlo_30_ggH125_ZZ4l.exactly4lep.root": (345060, (0.0133, 0.9821, 1.45, 1234.5678), True),
}


def standin(events, dsid, constants, set_flags, rng):
    n = len(events)
    counts = ak.num(events.lep_pt)
    lep = {f: events[f"lep_{f}"] for f in LEPTON}
    if set_flags:
        for f in FLAGS:
            lep[f] = ak.unflatten(rng.random(int(ak.sum(counts))) < 0.95, counts)
        fifth = np.arange(n) % 5 == 0
        lep = {f: ak.concatenate([v, v[:, :1][ak.local_index(v[:, :1]) < fifth]], axis=1) for f, v in lep.items()}
    xsec, filteff, kfac, sumw = constants
    sign = np.where(rng.random(n) < 0.1, -1.0, 1.0)
    scalars = {
        "trigE": events.trigE, "trigM": events.trigM, "channelNumber": np.full(n, dsid),
        "sum_of_weights": np.full(n, sumw), "filteff": np.full(n, filteff), "kfac": np.full(n, kfac), "xsec": np.full(n, xsec),
        "mcWeight": sign * rng.uniform(0.5, 1.5, n),
        **{name: rng.uniform(0.9, 1.1, n) for name in SCALE_FACTORS},
    }
    return {"lep": ak.zip({f: ak.values_astype(v, LEPTON[f]) for f, v in lep.items()}),
            **{name: np.asarray(v).astype(SCALARS[name]) for name, v in scalars.items()}}


def write(path, branches, title, basket_entries):
    n = len(branches["lep"])
    lepton_type = "var * {" + ", ".join(f"{f}: {t}" for f, t in LEPTON.items()) + "}"
    with uproot.recreate(path, compression=uproot.ZLIB(1)) as f:
        tree = f.mktree(TREE, {"lep": lepton_type, **SCALARS}, title,
                        counter_name=lambda counted: "lep_n", field_name=lambda outer, inner: f"{outer}_{inner}")
        for start in range(0, n, basket_entries):
            tree.extend({k: v[start:start + basket_entries] for k, v in branches.items()})
    print(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help=f"folder holding {SOURCE}")
    ap.add_argument("--out", required=True)
    ap.add_argument("--basket-entries", type=int, default=500)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with uproot.open(os.path.join(args.data, SOURCE)) as f:
        events = f[TREE].arrays([f"lep_{f}" for f in LEPTON] + ["trigE", "trigM"], library="ak")
    rng = np.random.default_rng(2025)
    for name, (dsid, constants, set_flags) in STANDINS.items():
        what = "data15 period D events with 95% of ID, isolation and trigger-match flags set, a fifth lepton in every fifth" if set_flags else "data15 period D events"
        title = f"{STAND_IN_TITLE}: {what}, seeded MC weights, not physics"
        write(os.path.join(args.out, name), standin(events, dsid, constants, set_flags, rng), title, args.basket_entries)
    link = os.path.join(args.out, SOURCE)
    if not os.path.lexists(link):
        os.symlink(os.path.abspath(os.path.join(args.data, SOURCE)), link)


if __name__ == "__main__":
    main()
