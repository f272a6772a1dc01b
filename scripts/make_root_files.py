#!/usr/bin/env python3
"""Write ROOT files with the 2020 4lep schema (tree `mini`) from the real shared events.

They are for tests and benchmarks: the real signal and ZZ* files are too large to have here.
uproot cannot write std::vector branches, so the lepton collections are counted jagged
arrays sharing one Int_t counter `lep_n`; the branches are
  lep_n (int32), lep_pt, lep_eta, lep_phi, lep_E (float32[]), lep_charge (int32[]), lep_type (uint32[]),
  mcWeight, scaleFactor_PILEUP, scaleFactor_ELE, scaleFactor_MUON, scaleFactor_LepTRIGGER (float32),
  runNumber, eventNumber, channelNumber (int32).
Compression is ZLIB level 1 like the originals; every `extend` call makes one basket per branch.

--standins writes pipeline stand-ins, NOT physics, under the catalogue file names (flat):
  mc_363490.llll.4lep.root            <- Zee + Zmumu + ttbar_lep events, in that order
  mc_345060.ggH125_ZZ4lep.4lep.root   <- ttW events
  mc_344235.VBFH125_ZZ4lep.4lep.root  <- Zmumu events
  mc_341964.WH125_ZZ4lep.4lep.root    <- ttbar_lep events
  mc_341947.ZH125_ZZ4lep.4lep.root    <- Ztautau events (9, none passing the selection: an empty-histogram case)
Events and weights are kept as they are; only channelNumber is set to the stand-in's DSID.
Each stand-in's tree is titled "hzz stand-in: <sources> events, not physics" (STAND_IN_TITLE in
core/contracts/messages.ts): hzz reads the title and marks every run on one, on the plot and in
histograms.json. Beside them go symbolic links to the real .root files of --data, so that
--out is one folder holding every sample of the catalogue: `hzz run --data OUT`.

--large-entries N writes large.4lep.root: the events of Zee, Zmumu and ttbar_lep (in that
order, real weights) repeated until N entries, for benchmarks with many baskets.
"""

import argparse
import os

import awkward as ak
import numpy as np
import uproot

TREE = "mini"
LEPTON = {"pt": "lep_pt", "eta": "lep_eta", "phi": "lep_phi", "E": "lep_E", "charge": "lep_charge", "type": "lep_type"}
LEPTON_TYPE = "var * {pt: float32, eta: float32, phi: float32, E: float32, charge: int32, type: uint32}"
SCALARS = {
    **{name: "float32" for name in ["mcWeight", "scaleFactor_PILEUP", "scaleFactor_ELE", "scaleFactor_MUON", "scaleFactor_LepTRIGGER"]},
    **{name: "int32" for name in ["runNumber", "eventNumber", "channelNumber"]},
}
EXPECTED_BRANCHES = ["lep_n", *LEPTON.values(), *SCALARS]

SOURCES = {
    "Zee": "mc_361106.Zee.4lep.root",
    "Zmumu": "mc_361107.Zmumu.4lep.root",
    "ttbar_lep": "mc_410000.ttbar_lep.4lep.root",
    "Ztautau": "mc_361108.Ztautau.4lep.root",
    "ttW": "mc_410155.ttW.4lep.root",
}
STANDINS = {
    "mc_363490.llll.4lep.root": (363490, ["Zee", "Zmumu", "ttbar_lep"]),
    "mc_345060.ggH125_ZZ4lep.4lep.root": (345060, ["ttW"]),
    "mc_344235.VBFH125_ZZ4lep.4lep.root": (344235, ["Zmumu"]),
    "mc_341964.WH125_ZZ4lep.4lep.root": (341964, ["ttbar_lep"]),
    "mc_341947.ZH125_ZZ4lep.4lep.root": (341947, ["Ztautau"]),
}
LARGE_SOURCES = ["Zee", "Zmumu", "ttbar_lep"]


def read_events(data_dir, names):
    """The schema's branches of the named shared files, concatenated in order, as flat columns."""
    parts = []
    for name in names:
        with uproot.open(os.path.join(data_dir, SOURCES[name])) as f:
            parts.append(f[TREE].arrays([*LEPTON.values(), *SCALARS], library="ak"))
    return ak.concatenate(parts)


def to_branches(events):
    lep = ak.zip({field: events[branch] for field, branch in LEPTON.items()})
    return {"lep": lep, **{name: ak.values_astype(events[name], dtype) for name, dtype in SCALARS.items()}}


STAND_IN_TITLE = "hzz stand-in"


def write(path, chunks, title=""):
    """One basket per chunk; then check the branch names are exactly the contract's."""
    with uproot.recreate(path, compression=uproot.ZLIB(1)) as f:
        tree = f.mktree(
            TREE,
            {"lep": LEPTON_TYPE, **SCALARS},
            title,
            counter_name=lambda counted: "lep_n",
            field_name=lambda outer, inner: f"{outer}_{inner}",
        )
        for chunk in chunks:
            tree.extend(to_branches(chunk))
    with uproot.open(path) as f:
        names = f[TREE].keys()
    if names != EXPECTED_BRANCHES:
        raise SystemExit(f"{path}: wrote branches {names}, expected {EXPECTED_BRANCHES}")
    print(f"wrote {path}")


def chunked(events, n_entries, basket_entries):
    """Entries 0..n_entries-1 of `events` repeated cyclically, basket_entries at a time."""
    for start in range(0, n_entries, basket_entries):
        yield events[np.arange(start, min(start + basket_entries, n_entries)) % len(events)]


def link_real_files(data_dir, out):
    """Links to the real files beside the stand-ins (a stand-in's own name is never replaced)."""
    for name in sorted(os.listdir(data_dir)):
        link = os.path.join(out, name)
        if not name.endswith(".root") or name in STANDINS or os.path.lexists(link):
            continue
        os.symlink(os.path.abspath(os.path.join(data_dir, name)), link)
        print(f"linked {link}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder with the real 2020 4lep files (flat)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--large-entries", type=int, help="write large.4lep.root with this many entries")
    ap.add_argument("--basket-entries", type=int, default=100_000)
    ap.add_argument("--standins", action="store_true", help="write stand-ins for the missing ZZ* and signal samples")
    args = ap.parse_args()
    if not args.standins and not args.large_entries:
        ap.error("nothing to write: give --standins and/or --large-entries N")
    if args.basket_entries < 1:
        ap.error("--basket-entries must be positive")
    os.makedirs(args.out, exist_ok=True)

    if args.standins:
        for filename, (dsid, names) in STANDINS.items():
            events = read_events(args.data, names)
            events["channelNumber"] = np.full(len(events), dsid, dtype=np.int32)
            title = f"{STAND_IN_TITLE}: {' + '.join(names)} events, not physics"
            write(os.path.join(args.out, filename), chunked(events, len(events), args.basket_entries), title)
        link_real_files(args.data, args.out)

    if args.large_entries:
        events = read_events(args.data, LARGE_SOURCES)
        write(os.path.join(args.out, "large.4lep.root"), chunked(events, args.large_entries, args.basket_entries))


if __name__ == "__main__":
    main()
