"""The CRISP-ML workflow's 47 steps: the single list the checklist rules compare against.

The texts follow CRISP-ML-WORKFLOW.md; the ids are ``<phase number>.<step number>`` as in
every phase's ``CHECKLIST.md``.
"""

from __future__ import annotations

from typing import NamedTuple

from crisp_lint.model import LIFECYCLE, Phase


# A NamedTuple rather than a dataclass: see crisp_lint.model (start-up time).
class Step(NamedTuple):
    id: str
    phase: Phase
    text: str


_TEXTS: dict[Phase, tuple[str, ...]] = {
    Phase.BUSINESS_UNDERSTANDING: (
        "Define business objectives",
        "Translate business objectives into ML objectives",
        "Collect and verify the raw/input data",
        "Assess the project feasibility",
        "Agree on the scope and timeline for a POC",
    ),
    Phase.LITERATURE_REVIEW: (
        "Define the important criteria of the project to filter out less related works",
        "Search for open source products and SaaS providers for similar objectives",
        "Look out only for mature projects, academic literature and practical tutorials",
        "Make a pros/cons table for all methods with their summaries and comparisons",
        "Make a subset of chosen methods and reasonings",
    ),
    Phase.DATA_UNDERSTANDING: (
        "Talk to the data analyst of the product to understand their data sources including"
        " their collection frequency and all limitations",
        "Verify the integrity and quality; save the criteria and indices of the parts where"
        " the data is more/less reliable (in terms of both rows and columns)",
        "Do not aggregate the data in this phase yet and focus on the more detailed granular"
        " levels",
        "Create a data catalog with explained data source and constraints",
        "Push the data with individual tables to DVC with `raw` tag",
    ),
    Phase.DATA_PREPARATION: (
        "Feature selection (columns)",
        "Data-Sample selection (rows)",
        "Class balancing",
        "Cleaning data (noise reduction, missing data imputation, normalisation, outlier"
        " detection etc.)",
        "Feature engineering",
        "Data augmentation",
        "Data standardization",
        "Merging and aggregating the data in preparation of the final data set. Pushing it to"
        " DVC with `dataset` tag",
        "Split data (train, val, test), and push indices to DVC",
    ),
    Phase.MODELLING: (
        "Setting an (MLflow) environment for experiments: Documenting the trials",
        "Define quality measure of the model",
        "Baseline model selection",
        "Adding domain knowledge to specialize the model",
        "Model training",
        "Optional: using transfer learning with a pre-trained model",
        "Model compression",
        "Ensemble learning",
    ),
    Phase.EVALUATION: (
        "Validate the model's performance",
        "Determine robustness",
        "Increase model's explainability",
        "Make a decision whether to deploy the model",
        "Document the evaluation criteria",
    ),
    Phase.DEPLOYMENT: (
        "Evaluate model once more on real world data in production conditions",
        "Setup continuous integration pipeline for re-training, versioning, and deployment of"
        " model",
        "Specify the deployment strategy to be used (A/B testing, multi-armed bandits)",
        "Assure user acceptance and usability",
        "Define procedures for model governance to monitor while maintenance",
    ),
    Phase.MONITORING: (
        "Monitor the efficiency and efficacy of the deployed model's predictions",
        "Create a dashboard tracks the predefined success criteria (e.g. quality thresholds)",
        "Retrain the model if/when required on new data",
        "Perform labelling of the new data points",
        "Repeat tasks from the modeling and evaluation steps",
    ),
}

PHASE_TITLES: dict[Phase, str] = {
    Phase.BUSINESS_UNDERSTANDING: "Business Understanding",
    Phase.LITERATURE_REVIEW: "Literature & Best Practices Review",
    Phase.DATA_UNDERSTANDING: "Data Understanding",
    Phase.DATA_PREPARATION: "Data Preparation & Preprocessing",
    Phase.MODELLING: "Modelling",
    Phase.EVALUATION: "Evaluation",
    Phase.DEPLOYMENT: "Production & Deployment",
    Phase.MONITORING: "Monitoring & Maintenance",
    Phase.GENERAL: "General",
}

STEPS: tuple[Step, ...] = tuple(
    Step(f"{phase.number}.{index}", phase, text)
    for phase in LIFECYCLE
    for index, text in enumerate(_TEXTS[phase], start=1)
)
STEPS_BY_ID: dict[str, Step] = {step.id: step for step in STEPS}


def steps_of(phase: Phase) -> tuple[Step, ...]:
    """The workflow steps of ``phase`` in order (none for ``general``)."""
    return tuple(step for step in STEPS if step.phase is phase)


def cite(*step_ids: str) -> str:
    """``"CRISP-ML step 3.5: Push the data ..."`` for rule rationales."""
    return "; ".join(f"CRISP-ML step {sid}: {STEPS_BY_ID[sid].text}" for sid in step_ids)
