"""The pipeline's sources (docs/pipeline.md, "Several sources"): the pipeline's own repository (`pipeline.repository`,
named `pipeline.source_name`, which holds app.yaml and this generator) and each of `pipeline.sources`, all through the
one CodeStar connection.

Each source is a CodeStarSourceConnection action in the Source stage with its own output artifact and variable
namespace, and its own V2 trigger: a push to its branch (and, with `paths`, one that changes a matching file) starts
a run, which fetches the latest commit of every source. The pipeline's own repository keeps the names it always had
(action, artifact `Source`, namespace `SourceVariables`, parameters FullRepositoryId/BranchName), so an app without
`sources` generates exactly what it did. Property names: AWS::CodePipeline::Pipeline PipelineTriggerDeclaration,
GitConfiguration (SourceActionName, Push), GitPushFilter (Branches, FilePaths) and GitFilePathFilterCriteria
(Includes, at most 8 patterns) in the CloudFormation template reference
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-codepipeline-pipeline-gitpushfilter.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-codepipeline-pipeline-gitfilepathfiltercriteria.html).
"""
from __future__ import annotations

import json

from troposphere import Ref, codepipeline

from generator.config import AppSpec
from generator.naming import pascal
from generator.records import record

PRIMARY = "Source"     # the action, output artifact and variable-namespace prefix of the pipeline's own repository
SOURCES_FILE = "sources.json"   # written by each environment's Promote step into its output artifact


@record(frozen=True)
class Source:
    name: str
    repository: str
    branch: str
    paths: tuple[str, ...]
    primary: bool

    @property
    def action(self) -> str:
        return PRIMARY if self.primary else f"{PRIMARY}{pascal(self.name)}"

    @property
    def artifact(self) -> str:
        return self.action

    @property
    def namespace(self) -> str:
        return f"{self.action}Variables"

    @property
    def repository_parameter(self) -> str:
        return "FullRepositoryId" if self.primary else f"{self.action}Repository"

    @property
    def branch_parameter(self) -> str:
        return "BranchName" if self.primary else f"{self.action}Branch"

    def commit(self) -> str:
        """The source action's output variable: the commit this run fetched."""
        return f"#{{{self.namespace}.CommitId}}"


def all_sources(app: AppSpec) -> list[Source]:
    spec = app.pipeline
    return [Source(spec.source_name, spec.repository, spec.branch, tuple(spec.paths), True),
            *(Source(s.name, s.repository, s.branch, tuple(s.paths), False) for s in spec.sources)]


def named(app: AppSpec, name: str) -> Source:
    return next(s for s in all_sources(app) if s.name == name)


def of_service(app: AppSpec, service: str) -> Source:
    """The source a service's image is built from (`pipeline.builds.<service>.source`)."""
    return named(app, app.pipeline.source_of(service))


def action(source: Source, name: str, run_order: int) -> codepipeline.Actions:
    return codepipeline.Actions(
        Name=name, RunOrder=run_order, Namespace=source.namespace,
        ActionTypeId=codepipeline.ActionTypeId(Category="Source", Owner="AWS", Provider="CodeStarSourceConnection",
                                               Version="1"),
        Configuration={"ConnectionArn": Ref("ConnectionArn"), "FullRepositoryId": Ref(source.repository_parameter),
                       "BranchName": Ref(source.branch_parameter), "OutputArtifactFormat": "CODE_ZIP"},
        OutputArtifacts=[codepipeline.OutputArtifacts(Name=source.artifact)])


def triggers(app: AppSpec) -> list[codepipeline.PipelineTriggerDeclaration]:
    """One push trigger per source action: its branch, and its file paths where given."""
    found = []
    for source in all_sources(app):
        push = {"Branches": codepipeline.GitBranchFilterCriteria(Includes=[Ref(source.branch_parameter)])}
        if source.paths:
            push["FilePaths"] = codepipeline.GitFilePathFilterCriteria(Includes=list(source.paths))
        found.append(codepipeline.PipelineTriggerDeclaration(
            ProviderType="CodeStarSourceConnection", GitConfiguration=codepipeline.GitConfiguration(
                SourceActionName=source.action, Push=[codepipeline.GitPushFilter(**push)])))
    return found


def commits_variable(app: AppSpec) -> str:
    """SOURCE_COMMITS of the Promote action: each source's name and the commit this run fetched, as JSON."""
    return json.dumps({s.name: s.commit() for s in all_sources(app)}, separators=(",", ":"))


def described(app: AppSpec) -> list[dict[str, str]]:
    """What the Promote buildspec writes into sources.json beside each commit."""
    return [{"name": s.name, "repository": s.repository, "branch": s.branch} for s in all_sources(app)]


def release_commits(app: AppSpec) -> str:
    """How an approval message names the run: the commit of the pipeline's own repository, and how many others the
    run also carries (their commits would push CustomData past its 500 characters with six sources)."""
    first, *others = all_sources(app)
    extra = f" with the latest commit of {', '.join(s.name for s in others)}" if others else ""
    return f"commit {first.commit()}{extra}"
