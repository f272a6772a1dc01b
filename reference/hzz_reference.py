#!/usr/bin/env python3
"""Reference H->ZZ*->4l analysis, written the way the ATLAS Open Data HZZ notebook does it.

The TypeScript implementation is compared against this bin for bin, so the numerics
follow the notebook (uproot + awkward + vector, float32 arrays as uproot gives them):
- m4l comes from vector on the float32 (pt, eta, phi, E) of the first four leptons;
- totalWeight is a Python float times float32 arrays, left to right, so it is float32;
- histograms are numpy.histogram on arange edges, with the float32 weights summed in
  float64. The notebook's plt.hist takes differences of a float32 running sum, whose
  rounding grows with the number of events (8.6e-6 relative per bin on the shared files,
  1e-3 on millions of events): that is accumulation noise, not the analysis, so the
  reference keeps every per-event number of the notebook and sums them exactly enough
  for a 1e-6 bin-by-bin comparison.

The analysis itself is described in shared/reference/notebook-analysis.md; --notebook 2025 is
the 2025 release's notebook instead (read_sample_2025, written from that notebook's code).
"""

import argparse
import json
import os
import resource
import sys
import time

import awkward as ak
import numpy as np
import uproot
import vector

UNIT_TO_GEV = {"MeV": 0.001, "GeV": 1.0}


def resolve_path(data_dir, sample):
    """DIR/<path> if it exists, else DIR/<basename> (the shared folder is flat)."""
    tried = [os.path.join(data_dir, sample["path"]), os.path.join(data_dir, os.path.basename(sample["path"]))]
    for path in tried:
        if os.path.isfile(path):
            return path, tried
    return None, tried


def select_samples(catalog, data_dir, requested):
    samples = catalog["samples"]
    if requested is None:
        return [(s, p) for s in samples for p in [resolve_path(data_dir, s)[0]] if p]
    wanted = set(requested)
    known = {s["name"] for s in samples} | {s["category"] for s in samples}
    unknown = wanted - known
    if unknown:
        sys.exit(f"unknown sample or category: {', '.join(sorted(unknown))}")
    chosen = []
    for s in samples:
        if s["name"] in wanted or s["category"] in wanted:
            path, tried = resolve_path(data_dir, s)
            if path is None:
                sys.exit(f"sample {s['name']}: file not found, tried {' and '.join(tried)}")
            chosen.append((s, path))
    return chosen


# The August 2024 revision of the 2020 notebook: the first three leptons, in stored order, above
# these pT cutoffs (GeV) before the type and charge cuts, as `data['leading_lep_pt'] * MeV > cutoffs[0]`.
REV2024_CUTOFFS = [30, 20, 10]


def notebook_cuts(notebook, br, scale, type_sums):
    """The notebook's cuts, in its order, as functions of a batch to the mask of events kept."""
    def charge(ev):
        q = ev[br["charge"]]
        return q[:, 0] + q[:, 1] + q[:, 2] + q[:, 3] == 0

    def flavour(ev):
        t = ev[br["type"]]
        return np.isin(ak.to_numpy(t[:, 0] + t[:, 1] + t[:, 2] + t[:, 3]), type_sums)

    if notebook == "2020":
        return [charge, flavour]
    # float32 * Python float stays float32 in numpy, as in the notebook's `lep_pt * MeV > cutoff`.
    pt = [lambda ev, i=i, c=c: ev[br["pt"]][:, i] * scale > c for i, c in enumerate(REV2024_CUTOFFS)]
    return [*pt, flavour, charge]


Z_MASS_GEV = 91.1876
# The pairs of four leptons; pair k's complement is pair 5 - k.
PAIRS = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]


def z_candidate_masses(ev, br, scale):
    """Z1 and Z2 masses (GeV) of each event, core/analysis/z-candidates.ts's rule: of the pairings
    whose two pairs are both opposite-charge same-flavour, Z1 is the pair nearest the Z mass (the
    first in PAIRS order on a tie), Z2 its complement; NaN for both without such a pairing.
    Four-vectors summed in float64 from the float32 branches."""
    pt, eta, phi, e = (ak.to_numpy(ev[br[k]][:, :4]).astype(np.float64) for k in ("pt", "eta", "phi", "energy"))
    q, t = (ak.to_numpy(ev[br[k]][:, :4]).astype(np.int64) for k in ("charge", "type"))

    def pair_mass(i, j):
        px = pt[:, i] * np.cos(phi[:, i]) + pt[:, j] * np.cos(phi[:, j])
        py = pt[:, i] * np.sin(phi[:, i]) + pt[:, j] * np.sin(phi[:, j])
        pz = pt[:, i] * np.sinh(eta[:, i]) + pt[:, j] * np.sinh(eta[:, j])
        en = e[:, i] + e[:, j]
        with np.errstate(invalid="ignore"):
            return np.sqrt(en * en - (px * px + py * py + pz * pz))

    def ossf(i, j):
        return (t[:, i] == t[:, j]) & (q[:, i] * q[:, j] < 0)

    masses = np.stack([pair_mass(i, j) for i, j in PAIRS], axis=1)
    counts = np.stack([ossf(*PAIRS[k]) & ossf(*PAIRS[5 - k]) for k in range(6)], axis=1)
    distance = np.where(counts, np.abs(masses * scale - Z_MASS_GEV), np.inf)
    distance = np.where(np.isnan(distance), np.inf, distance)
    best = np.argmin(distance, axis=1)
    rows = np.arange(len(best))
    found = np.isfinite(distance[rows, best])
    z1 = np.where(found, masses[rows, best], np.nan) * scale
    z2 = np.where(found, masses[rows, 5 - best], np.nan) * scale
    return z1, z2


def read_sample(path, sample, catalog, lumi, notebook="2020", type_sums=(44, 48, 52), z_masses=False):
    """Selected m4l, lepton pTs (GeV), Z-candidate masses (GeV, with z_masses) and weights of one
    sample, plus entries read and the cut-flow."""
    br = catalog["branches"]
    scale = UNIT_TO_GEV[catalog["energyUnit"]]
    is_mc = "xsec" in sample
    lepton = [br["pt"], br["eta"], br["phi"], br["energy"], br["charge"], br["type"]]
    weights = [br["mcWeight"], *br["scaleFactors"]]
    if is_mc:
        xsec_weight = (lumi * 1000 * sample["xsec"]) / (sample["sumw"] * sample["efficiency"])
    cuts = notebook_cuts(notebook, br, scale, type_sums)

    m4l_parts, pt_parts, w_parts, cutflow = [], [[] for _ in range(4)], [], [0] * len(cuts)
    z_parts = [[], []]
    with uproot.open(path) as f:
        tree = f[catalog["tree"]]
        n_read = tree.num_entries
        # Like the notebook, data reads the weight branches too (they are all 0 there).
        for ev in tree.iterate(lepton + weights, library="ak", entry_stop=n_read):
            # The notebook indexes leptons 0..3 unguarded (the skim has >= 4); an event
            # with fewer cannot form a 4-lepton sum, so it fails the selection here.
            ev = ev[ak.num(ev[br["pt"]]) >= 4]
            for i, cut in enumerate(cuts):
                ev = ev[cut(ev)]
                cutflow[i] += len(ev)
            p4 = vector.zip({"pt": ev[br["pt"]], "eta": ev[br["eta"]], "phi": ev[br["phi"]], "E": ev[br["energy"]]})
            m4l_parts.append(ak.to_numpy((p4[:, 0] + p4[:, 1] + p4[:, 2] + p4[:, 3]).M * scale))
            for i in range(4):
                pt_parts[i].append(ak.to_numpy(ev[br["pt"]][:, i] * scale))
            if z_masses:
                for part, z in zip(z_parts, z_candidate_masses(ev, br, scale)):
                    part.append(z)
            if is_mc:
                w = xsec_weight * ev[weights[0]]
                for name in weights[1:]:
                    w = w * ev[name]
                w_parts.append(ak.to_numpy(w))
    w = np.concatenate(w_parts) if is_mc else None
    zs = [np.concatenate(p) for p in z_parts] if z_masses else []
    return np.concatenate(m4l_parts), [np.concatenate(p) for p in pt_parts], zs, w, n_read, cutflow


# The 2025 notebook (notebooks-collection-opendata 13-TeV-examples/uproot_python/HZZAnalysis.ipynb at
# 56f3ea7, release 2025e-13tev-beta), from its code: the branches it reads (`variables`), its weight
# branches (`weight_variables`), and its final loop's cuts in order. Its units are GeV (`GeV = 1.0`).
VARIABLES_2025 = ["lep_pt", "lep_eta", "lep_phi", "lep_e", "lep_charge", "lep_type", "trigE", "trigM",
                  "lep_isTrigMatched", "lep_isLooseID", "lep_isMediumID", "lep_isLooseIso"]
WEIGHT_VARIABLES_2025 = ["filteff", "kfac", "xsec", "mcWeight", "ScaleFactor_PILEUP", "ScaleFactor_ELE",
                         "ScaleFactor_MUON", "ScaleFactor_LepTRIGGER"]


def cuts_2025():
    """The notebook's cut functions, as masks of the events kept, in the order its loop applies them."""
    def four(ev, name):
        x = ev[name]
        return x[:, 0] + x[:, 1] + x[:, 2] + x[:, 3]

    def id_iso(ev):
        # ID_iso_cut(IDel=lep_isLooseID, IDmu=lep_isMediumID, isoel=lep_isLooseIso, isomu=lep_isLooseIso, pid=lep_type),
        # summed over every lepton of the event (axis=1), not over the first four.
        pid = ev.lep_type
        good = ((pid == 13) & ev.lep_isMediumID & ev.lep_isLooseIso) | ((pid == 11) & ev.lep_isLooseID & ev.lep_isLooseIso)
        return ak.sum(good, axis=1) == 4

    type_sum = lambda ev: four(ev, "lep_type")  # noqa: E731
    return [
        lambda ev: ev.trigE | ev.trigM,
        lambda ev: ak.sum(ev.lep_isTrigMatched, axis=1) >= 1,
        lambda ev: ev.lep_pt[:, 0] > 20,
        lambda ev: ev.lep_pt[:, 1] > 15,
        lambda ev: ev.lep_pt[:, 2] > 10,
        id_iso,
        lambda ev: (type_sum(ev) == 44) | (type_sum(ev) == 48) | (type_sum(ev) == 52),
        lambda ev: four(ev, "lep_charge") == 0,
    ]


def read_sample_2025(path, sample, catalog, lumi):
    """read_sample for the 2025 notebook: its cuts, and its weight from the file's own branches,
    lumi * 1000 / sum_of_weights * |each weight variable|, left to right (calc_weight)."""
    is_mc = "xsec" in sample
    cuts = cuts_2025()
    m4l_parts, w_parts, cutflow = [], [], [0] * len(cuts)
    with uproot.open(path) as f:
        tree = f[catalog["tree"]]
        n_read = tree.num_entries
        for ev in tree.iterate(VARIABLES_2025 + WEIGHT_VARIABLES_2025 + ["sum_of_weights"], library="ak", entry_stop=n_read):
            ev = ev[ak.num(ev.lep_pt) >= 4]
            for i, cut in enumerate(cuts):
                ev = ev[cut(ev)]
                cutflow[i] += len(ev)
            p4 = vector.zip({"pt": ev.lep_pt, "eta": ev.lep_eta, "phi": ev.lep_phi, "E": ev.lep_e})
            m4l_parts.append(ak.to_numpy((p4[:, 0] + p4[:, 1] + p4[:, 2] + p4[:, 3]).M))
            if is_mc:
                w = lumi * 1000 / ev["sum_of_weights"]
                for name in WEIGHT_VARIABLES_2025:
                    w = w * abs(ev[name])
                w_parts.append(ak.to_numpy(w))
    w = np.concatenate(w_parts) if is_mc else None
    return np.concatenate(m4l_parts), w, n_read, cutflow


def histogram(values, w, edges):
    """numpy.histogram's bins ([e_i, e_i+1), the last closed), each bin's weights summed in event
    order by bincount: numpy.histogram's own weighted sum (on explicit edges) is a difference of
    running sums, whose rounding grows with the running total (5e-8 relative on a small bin beside
    a large one), which is the reference's noise, not the analysis."""
    if w is not None:
        w = w[~np.isnan(values)]
    values = values[~np.isnan(values)]
    entries = np.histogram(values, bins=edges)[0]
    if w is None:
        return entries.astype(float), entries.astype(float), entries
    n = len(edges) - 1
    idx = np.searchsorted(edges, values, side="right") - 1
    idx[values == edges[-1]] = n - 1
    keep = (idx >= 0) & (idx < n)
    idx, w = idx[keep], w[keep].astype(np.float64)
    assert (np.bincount(idx, minlength=n) == entries).all(), "bincount's bins are numpy.histogram's"
    return np.bincount(idx, weights=w, minlength=n), np.bincount(idx, weights=w * w, minlength=n), entries


# The revision's lepton-pT histograms: 0-200 GeV in the notebook's 5 GeV steps.
PT_EDGES = np.arange(0, 200 + 5, 5)
# The Z-candidate masses' (--z-masses): 0-160 GeV in 4 GeV steps.
Z_EDGES = np.arange(0, 160 + 4, 4)


def run(chosen, catalog, lumi, edges, notebook="2020", type_sums=(44, 48, 52), z_masses=False):
    out = {}
    for sample, path in chosen:
        if notebook == "2025":
            m4l, w, n_read, cutflow = read_sample_2025(path, sample, catalog, lumi)
            pts, zs = [], []
        else:
            m4l, pts, zs, w, n_read, cutflow = read_sample(path, sample, catalog, lumi, notebook, type_sums, z_masses)
        sumw, sumw2, entries = histogram(m4l, w, edges)

        def bins(values, bin_edges):
            sw, sw2, n = histogram(values, w, bin_edges)
            return {"sumw": [float(x) for x in sw], "sumw2": [float(x) for x in sw2], "entries": [int(x) for x in n]}

        more = ([bins(p, PT_EDGES) for p in pts] if notebook == "rev2024" else []) + [bins(z, Z_EDGES) for z in zs]
        out[sample["name"]] = {
            "category": sample["category"],
            "sumw": [float(x) for x in sumw],
            "sumw2": [float(x) for x in sumw2],
            "entries": [int(x) for x in entries],
            "nRead": int(n_read),
            "nSelected": int(cutflow[-1]),
            "cutflow": [int(n) for n in cutflow],
            **({"more": more} if more else {}),
        }
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--data", required=True, help="folder holding the sample files")
    ap.add_argument("--samples", help="comma-separated sample or category names (default: every sample whose file exists)")
    ap.add_argument("--lumi", type=float, help="fb^-1 (default: the catalogue's)")
    ap.add_argument("--lo", type=float, default=80.0)
    ap.add_argument("--hi", type=float, default=250.0)
    ap.add_argument("--width", type=float, help="bin width, GeV (default: the notebook's, 5 or for 2025 2.5)")
    ap.add_argument("--repeat", type=int, default=1)
    # What a user who cares about speed picks: ISA-L's inflate for ROOT's ZLIB baskets. Setting it on
    # uproot.ZLIB does not reach the reads; the class attribute does.
    ap.add_argument("--zlib", choices=["zlib", "isal"], default="zlib", help="uproot's ZLIB decompression library")
    ap.add_argument("--notebook", choices=["2020", "rev2024", "2025"], default="2020", help="the 2020 notebook, its August 2024 revision (pT cutoffs 30, 20, 10 GeV), or the 2025 release's")
    ap.add_argument("--type-sums", default="44,48,52", help="the lepton type sums the flavour cut keeps (a user's changed cut)")
    ap.add_argument("--z-masses", action="store_true", help="also the Z1 and Z2 candidate masses' histograms (0-160 GeV, 4 GeV bins), after any others")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    uproot.compression._DecompressZLIB.library = args.zlib

    with open(args.catalog) as fh:
        catalog = json.load(fh)
    lumi = args.lumi if args.lumi is not None else catalog.get("lumi", 10)
    if args.width is None:
        args.width = 2.5 if args.notebook == "2025" else 5.0
    # Same construction as the notebook: arange(xmin, xmax + step, step).
    edges = np.arange(args.lo, args.hi + args.width, args.width)
    requested = [s.strip() for s in args.samples.split(",") if s.strip()] if args.samples else None
    chosen = select_samples(catalog, args.data, requested)

    seconds, events = [], 0
    for _ in range(max(1, args.repeat)):
        start = time.perf_counter()
        samples = run(chosen, catalog, lumi, edges, args.notebook, tuple(int(x) for x in args.type_sums.split(",")), args.z_masses)
        seconds.append(time.perf_counter() - start)
        events = sum(s["nRead"] for s in samples.values())

    def num(x):
        return int(x) if float(x).is_integer() else x

    result = {
        "schema": "hzz.reference/v1",
        "binning": {"lo": num(args.lo), "hi": num(args.hi), "width": num(args.width)},
        "lumi": num(lumi),
        "samples": samples,
        "timing": {
            "zlib": args.zlib,
            "seconds": seconds,
            "events": events,
            # ru_maxrss is in KiB on Linux.
            "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        },
    }
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
