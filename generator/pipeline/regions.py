"""Environments in other regions than the pipeline's (docs/pipeline.md, "Environments in other regions").

The pipeline runs in the app's region. An action that acts in another region declares it (`Region`), and CodePipeline
then copies its input artifacts into an artifact store of that region: the pipeline needs `ArtifactStores`, one per
region, instead of `ArtifactStore` (AWS::CodePipeline::Pipeline ArtifactStoreMap: "There must be an artifact store
for the pipeline Region and for each cross-region action in the pipeline ... you cannot use both",
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-codepipeline-pipeline-artifactstoremap.html).

- The pipeline region's store is the existing one (pipeline.yaml's bucket and key). Each other region's store is a
  bucket and a KMS key of the pipeline account in that region, created by the small support stack
  `<app>-pipeline-support` (pipeline-support.yaml, the same template for every app and region: its inputs are
  parameters) before the pipeline needs them. Its bucket has the main bucket's name pattern,
  `<app>-pipeline-<pipeline account>-<region>`, so every template names it without outputs crossing regions.
- The key's ARN cannot be derived (key ids are random) and CodePipeline needs the key ARN, not an alias, when an
  action runs in another account ("Aliases are recognized only in the account that created the AWS KMS key. For
  cross-account actions, you can only use the key ID or key ARN", AWS::CodePipeline::Pipeline EncryptionKey,
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-codepipeline-pipeline-encryptionkey.html):
  so app.yaml names it (`pipeline.artifact_keys.<region>`: the support stack's KeyArn output), as it names the
  connection, and a parameter of pipeline.yaml carries it (only that value is allowed).
- Deploy (CloudFormation) and the CodeDeployToECS releases of such an environment run in its region (`Region`); the
  Deploy action reads `packaged/<region>/root.yaml`, packaged by the self-update into that region's bucket (a nested
  stack's TemplateURL is read from a bucket of the stack's own region). The CodeBuild steps (Promote, PrepareRelease,
  ProtectNestedStacks, PublishFrontend) stay in the pipeline's region (their projects live there) and reach the
  environment's region with the deploy-role profile's `region` (TARGET_REGION): Promote pushes the scanned image
  into that region's repositories and checks that the digest there is the scanned one.
"""
from __future__ import annotations

from typing import Any

from awacs import kms, s3
from awacs.aws import Allow, ArnLike, Condition, Principal, Statement, StringEquals
from troposphere import GetAtt, Output, Ref, Sub, Template, codepipeline
from troposphere import kms as tkms
from troposphere import s3 as ts3

from generator import naming
from generator.config import AppSpec
from generator.pipeline import common
# beside pipeline.yaml's other parameters in common.py, which must not import this module (no import cycle)
from generator.pipeline.grants import Grant, grant
from generator.policies.common import document
from generator.policies.s3 import deny_insecure_transport
from generator.pipeline import storage

SUPPORT_TEMPLATE = "pipeline-support.yaml"
SUPPORT_PARAMETERS = "pipeline-support"          # params/pipeline-support.json
TARGET_ACCOUNTS_PARAM = "TargetAccountIds"








def bucket_name(region: str) -> Sub:
    """The artifact bucket of `region` in the pipeline account (the main bucket's pattern, common.py)."""
    return Sub(f"${{Application}}-{common.PIPELINE}-${{AWS::AccountId}}-{region}")


def action_region(app: AppSpec, env: str) -> dict[str, str]:
    """`Region` of an action that acts in `env`'s region, when that is not the pipeline's (ActionDeclaration Region:
    "The action declaration's AWS Region, such as us-east-1")."""
    region = app.region_of(env)
    return {"Region": region} if region != app.region else {}


def packaged_root(app: AppSpec, env: str) -> str:
    """Where `env`'s Deploy action reads the packaged root template in the Templates artifact."""
    region = app.region_of(env)
    return "packaged/root.yaml" if region == app.region else f"packaged/{region}/root.yaml"


def target_region(app: AppSpec, env: str) -> dict[str, str]:
    """TARGET_REGION of a CodeBuild step acting in `env` (the deploy-role profile's region); empty in the pipeline's
    region, where the project's own region applies."""
    region = app.region_of(env)
    return {"TARGET_REGION": region} if region != app.region else {}




def artifact_store(app: AppSpec, bucket: Any, key_arn: Any) -> dict[str, Any]:
    """The pipeline's `ArtifactStore`, or `ArtifactStores` (one per region) when an environment is in another region."""
    def store(location: Any, key: Any) -> codepipeline.ArtifactStore:
        return codepipeline.ArtifactStore(Type="S3", Location=location,
                                          EncryptionKey=codepipeline.EncryptionKey(Id=key, Type="KMS"))
    main = store(Ref(bucket), key_arn)
    if not common.other_regions(app):
        return {"ArtifactStore": main}
    return {"ArtifactStores": [codepipeline.ArtifactStoreMap(Region=Ref("AWS::Region"), ArtifactStore=main)] + [
        codepipeline.ArtifactStoreMap(Region=region,
                                      ArtifactStore=store(bucket_name(region), Ref(common.key_parameter(region))))
        for region in common.other_regions(app)]}


def self_update_variables(app: AppSpec) -> dict[str, Sub]:
    """REGIONAL_BUCKETS of the self-update project (buildspecs/self_update.yml.j2): `<region>=<bucket>` per other
    region, where it packages root.yaml again."""
    pairs = [f"{r}=${{Application}}-{common.PIPELINE}-${{AWS::AccountId}}-{r}" for r in common.other_regions(app)]
    return {"REGIONAL_BUCKETS": Sub(" ".join(pairs))} if pairs else {}


def store_grants(app: AppSpec, write: bool) -> list[Grant]:
    """The other regions' stores for a pipeline-account role: the pipeline's role (CodePipeline copies artifacts
    there and reads the actions' outputs) and the self-update's (it uploads the packaged templates there)."""
    regions = common.other_regions(app)
    if not regions:
        return []
    actions = "s3:GetObject s3:GetObjectVersion" + (" s3:PutObject" if write else "")
    return [
        grant("RegionalArtifacts", actions,
              [Sub(f"arn:${{AWS::Partition}}:s3:::${{Application}}-{common.PIPELINE}-${{AWS::AccountId}}-{r}/*")
               for r in regions]),
        grant("RegionalArtifactBuckets", "s3:GetBucketVersioning s3:GetBucketLocation",
              [Sub(f"arn:${{AWS::Partition}}:s3:::${{Application}}-{common.PIPELINE}-${{AWS::AccountId}}-{r}")
               for r in regions]),
        grant("UseRegionalArtifactKeys", "kms:Decrypt kms:Encrypt kms:GenerateDataKey kms:DescribeKey",
              [Ref(common.key_parameter(r)) for r in regions]),
    ]


def environment_artifact_grants(app: AppSpec, read_sid: str, decrypt_sid: str) -> list[Grant]:
    """What a target account's deploy role (input artifacts) and CloudFormation role (packaged nested templates) read
    in the pipeline account: the artifact bucket of the pipeline's region (`${AWS::Region}`: deploy-role.yaml is
    deployed there), or, with environments in other regions, the bucket of every region the app uses, named (the
    account may host environments in several of them), each key used only through S3 in its region (S3 decrypts on
    the caller's behalf; key ids are random and the key policies name these roles)."""
    def bucket(region: str) -> Sub:
        return Sub(f"arn:${{AWS::Partition}}:s3:::${{Application}}-{common.PIPELINE}-${{PipelineAccountId}}-{region}/*")

    def key(region: str) -> Sub:
        return Sub(f"arn:${{AWS::Partition}}:kms:{region}:${{PipelineAccountId}}:key/*")

    if not common.other_regions(app):
        return [grant(read_sid, "s3:GetObject s3:GetObjectVersion", bucket("${AWS::Region}")),
                grant(decrypt_sid, "kms:Decrypt kms:DescribeKey", key("${AWS::Region}"),
                      Condition(StringEquals("kms:ViaService", Sub("s3.${AWS::Region}.amazonaws.com"))))]
    return [grant(read_sid, "s3:GetObject s3:GetObjectVersion", [bucket(r) for r in app.regions()]),
            grant(decrypt_sid, "kms:Decrypt kms:DescribeKey", [key(r) for r in app.regions()],
                  Condition(StringEquals("kms:ViaService", [f"s3.{r}.amazonaws.com" for r in app.regions()])))]


# --- pipeline-support.yaml --------------------------------------------------------------------------------------
def support_parameters(app: AppSpec | None = None) -> list:
    """params/pipeline-support.json: the app, its owner and every target account (the same file in each region).
    The declarations do not depend on the app (`python -m generator pipeline-support` writes the template without one)."""
    from generator.wiring import RootParameter
    accounts = sorted({app.account_of(env) for env in app.environments}) if app is not None else []
    return [
        RootParameter(naming.APPLICATION_PARAM, "Application name (the pipeline's).", common.GROUP_APP,
                      "Application", lambda a, _: a.app, allowed_pattern=naming.NAME_PATTERN,
                      constraint="an app name"),
        common.OWNER,
        RootParameter(TARGET_ACCOUNTS_PARAM, "Every account that hosts an environment of the app (their deploy and "
                      "CloudFormation roles read the artifacts).", common.GROUP_ACCOUNTS, "Target accounts",
                      lambda a, _, accounts=accounts: ",".join(accounts), type="CommaDelimitedList"),
    ]


def support_template() -> Template:
    """The artifact store of one other region: a bucket and a KMS key of the pipeline account. The same template for
    any app and region (all inputs are parameters), deployed in each other region before the pipeline."""
    t = Template(Description="fargate-stacks: a pipeline's artifact store in another region (bucket and KMS key; "
                             "deployed once per region before the pipeline)")
    t.set_version()
    common.declare(t, support_parameters())
    roles = [Sub(naming.role_arn(role, "*")) for role in (common.DEPLOY_ROLE, common.CLOUDFORMATION_ROLE)]
    key = common.add(t, tkms.Key(
        "ArtifactKey", Description=Sub("${Application} pipeline: artifacts in ${AWS::Region}"),
        EnableKeyRotation=True, KeyPolicy=document(
            Statement(Sid="AccountAdministers", Effect=Allow,
                      Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
                      Action=[kms.Action("*")], Resource=["*"]),
            # The target accounts' roots (bare account ids, a list parameter), narrowed to their deploy and
            # CloudFormation roles: S3 decrypts the artifacts and packaged templates on their behalf.
            Statement(Sid="EnvironmentRolesReadArtifacts", Effect=Allow,
                      Principal=Principal("AWS", Ref(TARGET_ACCOUNTS_PARAM)),
                      Action=[kms.Decrypt, kms.DescribeKey], Resource=["*"],
                      Condition=Condition(ArnLike("aws:PrincipalArn", roles))))))
    common.add(t, tkms.Alias("ArtifactKeyAlias", AliasName=Sub("alias/${Application}-pipeline"),
                             TargetKeyId=Ref(key)))
    bucket = common.add(t, storage.artifact_bucket(
        key, "Pipeline artifacts are written and read only by the pipeline's own roles and the target accounts' "
             "deploy roles; who did what is in CloudTrail and the pipeline's execution history."))
    common.add(t, ts3.BucketPolicy("ArtifactBucketPolicy", Bucket=Ref(bucket), PolicyDocument=document(
        deny_insecure_transport(bucket),
        Statement(Sid="EnvironmentRolesReadArtifacts", Effect=Allow, Principal=Principal("AWS", Ref(TARGET_ACCOUNTS_PARAM)),
                  Action=[s3.GetObject, s3.GetObjectVersion], Resource=[Sub("${Arn}/*", Arn=GetAtt(bucket, "Arn"))],
                  Condition=Condition(ArnLike("aws:PrincipalArn", roles))))))
    t.add_output(Output("KeyArn", Value=GetAtt(key, "Arn"),
                        Description="Set app.yaml's pipeline.artifact_keys.<this region> to this value"))
    t.add_output(Output("BucketName", Value=Ref(bucket), Description="The region's artifact bucket"))
    return t
