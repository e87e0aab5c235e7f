"""The paper's own sentence behind each claim, and the titles of the sections that group them.

The report shows each claim under its section, the paper's sentence first.
Sentences are verbatim from the paper's text (arXiv:1803.08337; the PDF writes A_V as "AV" and ∘ as
"◦"); tests/test_report_html.py checks each against the extracted text where it is available.
"""

from __future__ import annotations

SECTIONS = {
    "3.3.1": "3.3.1 Reconstructions (Table 1, Fig. 3)",
    "3.3.2": "3.3.2 Resilience to noise (Figs. 4, 5)",
    "3.4": "3.4 Measuring information through classifiers (Table 2, Figs. 6, 7)",
    "3.5": "3.5 Measuring information through reconstructions (Figs. 8, 9)",
    "4": "Abstract and Sec. 4: additional findings",
}

GAP = " … "  # joins sentences that are not adjacent in the paper

_TABLE1_DROP = ("We see that the baseline lays between 1.2 and 3.7 points below the accuracy of the classifiers "
                "alone.")
_TABLE1_GAIN = ("Notwithstanding, fine-tuning AS on any classifier, already makes up for the initial loss of "
                "information and, for most cases, even surpasses the performance of the classifiers alone.")
_ALEXNET = ("The most pronounced difference can be seen with AlexNet, which falls below the accuracy of LeNet-5 at "
            "s = 0.3, yet it manages to remain above LeNet-5 when using inputs from AA .")
_INTERVALS = ("Note that any value of t between those intervals ([0.17 − 0.52] and [0.66 − 0.84]) yield the same "
              "FC, thus the same lattice.")
_CHAIN = "Note how any FC for thresholds between 0.2 and 0.8 yield lattices describing a totally ordered set."
_AV_80 = ("The AE fine-tuned on VGG preserves a signal that makes all other classifiers keep a performance of 80% "
          "and higher.")
_NMI_ORDER = ("Regardless of the variant of nMI used for comparison, all fine-tuned AEs can be sorted as follows: "
              "AV > AI > AL > AR > AA .")

QUOTES = {
    "table1.as_below": _TABLE1_DROP,
    "table1.as_drop_range": _TABLE1_DROP,
    "table1.ai_recovers": _TABLE1_GAIN,
    "table1.ai_surpasses_most": _TABLE1_GAIN,
    "colour.av_smallest": "Changes introduced by AV are the smallest among all AEs.",
    "colour.as_least": ("Taking into account that the difference between x and AS (x) is quite small, we can infer "
                        "that the missing signal that is relevant for inference has to be small as well."),
    "colour.checkerboard": ("AA and AR introduce consistent checkerboard artifacts over the entire input space. These "
                            "artifacts appear as peaks in the histograms in channels “A” and “B”."),
    "colour.luminance_range": ("AR and AI compress the range of the luminance, making dark areas brighter and bright "
                               "areas darker."),
    "colour.ai_b_shift": ("AI introduces a strong shift in “B” values that manifest as a lack of blues and "
                          "yellow/brown tint."),
    "colour.aa_pink": "AA produces images with a distinct pink hue.",
    "noise.falls": ("For the first experiment (dashed lines in Figure 5), accuracy starts decays steadily, as soon as "
                    "noise gets introduced."),
    "noise.as_worse": ("Using reconstructions from AS (left of Figure 5), worsens performance even more, suggesting "
                       "that the AE itself has not learned a denoising transformation."),
    "noise.ai_above": ("Accuracy for classifiers of the form Ai ◦ i present higher accuracies for all levels of noise, "
                       "indicating that all Ai∈C have indeed learned a representation of the information that is "
                       "useful to the classifier"),
    "noise.alexnet_lenet": _ALEXNET,
    "noise.alexnet_gain": _ALEXNET,
    "grid.others_lose": "We observed that accuracy drops consistently for each classifier when they use other AEs.",
    "grid.weaker_pairs": ("However, some combinations of Ai ◦ j tend to preserve the accuracy of the lowest performing "
                          "model in that combination"),
    "rrc.av_lifts_r_and_i": ("From this curve, we see how the input signal used by VGG is enough to make both ResNet "
                             "and Inception perform better than VGG itself."),
    "rrc.ai_below_065": ("Additionally, the signal from Inception v3 seems to be quite different from the one used by "
                         "any other model, as none of the models in C \\ {I} performed well (i.e., below 0.65 of their "
                         "original accuracy) using AI ."),
    "rrc.best_and_worst_ae": ("As a general trend, VGG stands out as the classifier making the most exhaustive use of "
                              "the input signal. " + _AV_80),
    "rrc.collapsing_pairs": "Every tested Ai ◦ j combination, sorted by RRC.",
    "rrc.ai_shares_half": ("For Inception, we see that it shares up to 50% of the signal that the other classifiers are "
                           "picking up on."),
    "fca.interval_low": _INTERVALS,
    "fca.interval_high": _INTERVALS,
    "fca.chain_middle": _CHAIN,
    "fca.only_ai_changes": "The only changing element is the AE fine-tuned on Inception.",
    "fca.t01_ar": ("Looking at the first lattice in Figure 7a, we can see that the signal from Resnet’s AE is already "
                   "not enough to make VGG or LeNet reach an accuracy that can go above 10% of what either of them "
                   "achieves on their own, using their corresponding AE."),
    "fca.t09_av_r": ("Conversely, in Figure 7d we see how the signal of VGG is enough for making Resnet’s performance at "
                     "least 90% of what VGG–the lowest performing of the two–is originally capable of."),
    "fca.av_keeps_80": _AV_80,
    "fca.chain_on_widest": ("Similarly, FCs for t ∈ {0.2, 0.8} characterize the largest changes in signal intake (i.e., "
                            "they lay in between the largest gaps) among classifiers." + GAP + _CHAIN),
    "fca.common_portion_t01": ("This analysis shows that all networks extract features based on a common portion of "
                               "the input signal but said portion, can be as small as 10%, as pointed out earlier for "
                               "Resnet."),
    "fca.order_t02": ("Measuring the changes in accuracy when the signal of one classifier is used by a second one, a "
                      "relation of total order emerges." + GAP + _CHAIN),
    "fca.order_t08": ("Measuring the changes in accuracy when the signal of one classifier is used by a second one, a "
                      "relation of total order emerges." + GAP + _CHAIN),
    "nmi.order_intra": _NMI_ORDER,
    "nmi.order_inter": _NMI_ORDER,
    "nmi.as_most": "Results shown in Figure 9 that AS is able to preserve the highest amount of the input signal.",
    "nmi.aa_ar_inter": ("Note that both AA and AR show comparatively high amounts of interclass nMI, which is "
                        "consistent with earlier observations of highly regular patterns in their reconstructions as "
                        "described in Section 3.3.1."),
    "nmi.aligns_with_lattice": ("The resulting totally ordered set aligns closely to the attributes in the lattice of "
                                "Figure 7b"),
    "signal.no_corr_accuracy": ("This order depends directly on each classifier’s input signal but it does not "
                                "correlate with classification accuracy or network size."),
    "signal.no_corr_size": ("Note also that the amount of input signal does not correlate with the number of "
                            "parameters or performance."),
}


def sentences(quote: str) -> list[str]:
    """The paper's sentences a quote joins (each is verbatim on its own)."""
    return quote.split(GAP)


def normalised(text: str) -> str:
    """Text with all whitespace removed and lower-cased, to find a sentence in PDF-extracted text.

    >>> normalised("A  b\\nC")
    'abc'
    """
    return "".join(text.split()).lower()
