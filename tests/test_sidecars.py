"""Sidecars (issue 16 item 1, docs/services.md): the task definition's containers, the load balancer's target
container and port, the release appspec, the pull grant of a private sidecar image, and the rules. The ECS facts:
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDependency.html (COMPLETE and SUCCESS "can't
be set on an essential container"; HEALTHY "requires that the dependent container has health checks configured")."""
from __future__ import annotations

import copy

import pytest
import yaml

from generator import buildspecs, pipeline, root
from generator.config import load_app, parse_app
from generator.errors import ConfigError
from tests.conftest import app_spec, as_data, make_app, template
from tests.support import DEFAULT_APP, ROOT

NGINX = {"name": "nginx", "image": "public.ecr.aws/nginx/nginx:1.27-alpine", "port": 8080, "cpu": 128,
         "memory": 128, "depends_on": [{"container": "web", "condition": "HEALTHY"}],
         "environment": {"UPSTREAM": "127.0.0.1:8000"},
         "secrets": {"BASIC_AUTH": "${Application}/${EnvironmentName}/nginx:htpasswd"}}
WEB = {"name": "web", "kind": "web", "port": 8000, "cpu": 512, "memory": 1024,
       "health_check_command": ["CMD-SHELL", "uwsgi --connect-and-read 127.0.0.1:1717 || exit 1"],
       "ingress_container": "nginx", "sidecars": [NGINX]}


def _web(**changes) -> dict:
    return {**copy.deepcopy(WEB), **changes}


def _service(app) -> dict:
    return template(app, "service-web.yaml")


def test_the_task_definition_holds_the_main_container_and_its_sidecars_with_their_settings():
    t = _service(make_app(services=[_web()]))
    props = t["Resources"]["TaskDefinition"]["Properties"]
    main, nginx = props["ContainerDefinitions"]
    assert (main["Name"], main["Essential"], main["PortMappings"]) == ("web", True, [{"ContainerPort": 8000,
                                                                                      "Protocol": "tcp"}])
    assert main["Image"] == {"Fn::Sub": ["${Uri}:${ImageTag}", {"Uri": {"Ref": "WebRepositoryUri"}}]}
    assert main["HealthCheck"]["Command"] == WEB["health_check_command"]
    assert nginx["Name"] == "nginx" and nginx["Essential"] is True
    assert nginx["Image"] == "public.ecr.aws/nginx/nginx:1.27-alpine"      # as given: never the service's tag
    assert nginx["PortMappings"] == [{"ContainerPort": 8080, "Protocol": "tcp"}]
    assert (nginx["Cpu"], nginx["Memory"]) == (128, 128)
    assert nginx["DependsOn"] == [{"ContainerName": "web", "Condition": "HEALTHY"}]
    assert nginx["Environment"] == [{"Name": "UPSTREAM", "Value": "127.0.0.1:8000"}]
    assert nginx["Secrets"] == [{"Name": "BASIC_AUTH", "ValueFrom": {"Fn::Sub": (
        "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
        "${Application}/${EnvironmentName}/nginx:htpasswd::")}}]
    # the ingress container gets the web service's default probe (on its own port), the main one keeps its own
    assert "http://localhost:8080/health" in nginx["HealthCheck"]["Command"][1]
    # both log to the service's log group under its prefix (streams web/<container>/<task id>)
    for container in (main, nginx):
        options = container["LogConfiguration"]["Options"]
        assert options["awslogs-group"] == {"Ref": "LogGroup"} and options["awslogs-stream-prefix"] == "web"
    # the task size stays the service's
    assert (props["Cpu"], props["Memory"]) == ("512", "1024")


def test_the_sidecars_secrets_are_readable_by_the_execution_role_only_by_name():
    t = _service(make_app(services=[_web()]))
    statements = t["Resources"]["ExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    read = next(s for s in statements if s["Sid"] == "ReadSecrets")
    assert {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
                       "${Application}/${EnvironmentName}/nginx-??????"} in read["Resource"]
    pull = next(s for s in statements if s["Sid"] == "PullImage")
    assert pull["Resource"] == [{"Ref": "WebRepositoryArn"}]     # a public image needs no grant


def test_a_private_ecr_sidecar_image_is_pulled_with_a_grant_on_that_repository_only():
    side = {**NGINX, "image": "444444444444.dkr.ecr.eu-west-1.amazonaws.com/hive/nginx:1.27-hive3"}
    t = _service(make_app(services=[_web(sidecars=[side])]))
    statements = t["Resources"]["ExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    pull = next(s for s in statements if s["Sid"] == "PullImage")
    assert pull["Resource"] == [{"Ref": "WebRepositoryArn"},
                                {"Fn::Sub": "arn:${AWS::Partition}:ecr:eu-west-1:444444444444:repository/hive/nginx"}]


BUILT_NGINX = {**{k: v for k, v in NGINX.items() if k != "image"}, "build": {"dockerfile": "nginx/Dockerfile",
                                                                             "context": "nginx"}}


def test_a_built_sidecar_runs_from_the_services_repository_at_the_services_tag():
    """`build:` instead of `image:`: the same repository and the same ImageTag parameter as the main container, with
    the sidecar's suffix, so the stack update of a release moves both containers to the new commit together."""
    t = _service(make_app(services=[_web(sidecars=[BUILT_NGINX])]))
    main, nginx = t["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert main["Image"] == {"Fn::Sub": ["${Uri}:${ImageTag}", {"Uri": {"Ref": "WebRepositoryUri"}}]}
    assert nginx["Image"] == {"Fn::Sub": ["${Uri}:${ImageTag}-nginx", {"Uri": {"Ref": "WebRepositoryUri"}}]}
    statements = t["Resources"]["ExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert next(s for s in statements if s["Sid"] == "PullImage")["Resource"] == [{"Ref": "WebRepositoryArn"}]


def test_the_repository_keeps_as_many_releases_with_a_built_sidecar():
    """Each release puts two images into the service's repository (`<tag>` and `<tag>-nginx`): the lifecycle policy
    counts images, so it keeps twice as many to keep `registry.keep_releases` releases for a rollback."""
    import json
    app = make_app(services=[_web(sidecars=[BUILT_NGINX]), {"name": "api", "kind": "worker"}])
    res = template(app, "registry.yaml")["Resources"]
    keep = app.registry.keep_releases

    def counted(title):
        rules = json.loads(res[title]["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        return next(r["selection"]["countNumber"] for r in rules if r["selection"]["tagStatus"] == "any")
    assert (counted("WebRepository"), counted("ApiRepository")) == (2 * keep, keep)


def test_the_pipeline_builds_scans_and_promotes_a_built_sidecar_with_its_service():
    raw = yaml.safe_load((ROOT / DEFAULT_APP).read_text(encoding="utf-8"))
    web = next(s for s in raw["services"] if s["name"] == "web")
    web.update(ingress_container="proxy", sidecars=[{"name": "proxy", "port": 9090,
                                                      "build": {"dockerfile": "proxy/Dockerfile", "context": "proxy"}}])
    app = parse_app(raw)
    texts = _buildspecs(pipeline.build(app, root.build(app)))
    image = next(text for text in texts if "Builds, pushes and scans the web image" in text)
    assert "--tag \"$REPOSITORY_URI:$IMAGE_TAG-proxy\" proxy" in image
    assert "--file proxy/Dockerfile" in image and 'docker push "$REPOSITORY_URI:$IMAGE_TAG-proxy"' in image
    assert '--repository "$REPOSITORY_NAME" --tag "$IMAGE_TAG-proxy" --fail-on' in image
    others = [text for text in texts if "Builds, pushes and scans the" in text and text is not image]
    assert others and not any("IMAGE_TAG-" in text for text in others)      # only the web service has one
    promote = next(text for text in texts if "Copies this commit's images" in text)
    assert 'web) for side in proxy; do images="$images $tag-$side"; done ;;' in promote


def test_the_load_balancer_targets_the_ingress_container_and_its_port():
    t = _service(make_app(services=[_web()]))
    res = t["Resources"]
    assert res["Service"]["Properties"]["LoadBalancers"] == [
        {"ContainerName": "nginx", "ContainerPort": 8080, "TargetGroupArn": {"Ref": "BlueTargetGroup"}}]
    assert res["BlueTargetGroup"]["Properties"]["Port"] == res["GreenTargetGroup"]["Properties"]["Port"] == 8080
    ingress = res["SecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert [(r["FromPort"], r["ToPort"]) for r in ingress] == [(8080, 8080)]
    cluster = template(make_app(services=[_web()]), "cluster.yaml")
    egress = [r for sg in cluster["Resources"].values() if sg["Type"] == "AWS::EC2::SecurityGroup"
              for r in sg["Properties"].get("SecurityGroupEgress", [])]
    assert any(r.get("FromPort") == 8080 for r in egress) and not any(r.get("FromPort") == 8000 for r in egress)


def test_without_ingress_container_the_main_container_stays_the_target():
    t = _service(make_app(services=[_web(ingress_container=None, sidecars=[{**NGINX, "depends_on": []}])]))
    assert t["Resources"]["Service"]["Properties"]["LoadBalancers"][0]["ContainerName"] == "web"
    assert t["Resources"]["Service"]["Properties"]["LoadBalancers"][0]["ContainerPort"] == 8000
    nginx = t["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][1]
    assert "HealthCheck" not in nginx        # only the ingress container gets the default probe


def test_a_service_without_sidecars_keeps_its_one_container():
    t = _service(make_app(services=[{"name": "web", "kind": "web", "port": 8000}]))
    (main,) = t["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert main["Name"] == "web" and "wget" in main["HealthCheck"]["Command"][1]


def test_the_release_appspec_names_the_ingress_container_and_replaces_the_main_containers_image():
    raw = yaml.safe_load((ROOT / DEFAULT_APP).read_text(encoding="utf-8"))
    web = next(s for s in raw["services"] if s["name"] == "web")
    web.update(ingress_container="proxy", sidecars=[{"name": "proxy", "image": "public.ecr.aws/nginx/nginx:1.27",
                                                      "port": 9090}])
    app = parse_app(raw)
    files = pipeline.build(app, root.build(app))
    buildspec = next(text for text in _buildspecs(files) if "release/$service/appspec.yaml" in text
                     and "release web proxy 9090" in text)
    assert '--container "$service"' in buildspec          # the image placeholder goes into the main container
    assert "release api api 3000" in buildspec or "release api" not in buildspec


def _buildspecs(files) -> list[str]:
    found = []
    for t in files.templates.values():
        for resource in as_data(t).get("Resources", {}).values():
            if resource["Type"] == "AWS::CodeBuild::Project":
                found.append(resource["Properties"]["Source"].get("BuildSpec", ""))
    return [b for b in found if isinstance(b, str)]


def test_the_release_buildspec_renders_the_appspec_with_the_given_container():
    text = buildspecs.render("release", releases=[dict(service="web", container_name="nginx", container_port=8080,
                                                       artifact="ReleaseWeb")], scripts_dir="scripts")
    assert "release web nginx 8080" in text


def test_the_example_django_celery_runs_nginx_in_front_of_uwsgi():
    app = load_app(ROOT / "examples/django-celery/app.yaml")
    web = next(s for s in app.services if s.name == "web")
    assert web.ingress() == ("nginx", 8080) and [s.name for s in web.sidecars] == ["nginx"]
    assert (web.sidecars[0].image, web.sidecars[0].build.dockerfile) == (None, "nginx/Dockerfile")   # built with web's


@pytest.mark.parametrize("sidecar, problem", [
    ({"name": "nginx", "image": "public.ecr.aws/nginx/nginx"}, "has no tag, which means latest"),
    ({"name": "nginx"}, "services.web.sidecars.nginx: has neither image nor build"),
    ({"name": "nginx", "image": "nginx:1.27", "build": {"dockerfile": "nginx/Dockerfile", "context": "nginx"}},
     "services.web.sidecars.nginx: has both image and build; keep one of them"),
    ({"name": "nginx", "image": "nginx:1.27", "depends_on": [{"container": "nginx"}]}, "cannot wait for itself"),
    ({"name": "nginx", "image": "nginx:1.27", "cpu": 512}, "the sidecars take 512 of the task's 512 CPU units"),
    ({"name": "nginx", "image": "nginx:1.27", "health_check": ["curl", "x"]}, "start with CMD"),
])
def test_bad_sidecars_are_refused_at_load_time(sidecar, problem):
    raw = app_spec(services=[{"name": "web", "kind": "web", "port": 8000, "cpu": 512, "memory": 1024,
                              "sidecars": [sidecar]}])
    with pytest.raises(ConfigError) as info:
        parse_app(raw)
    assert problem in str(info.value)


def test_a_circle_of_sidecars_waiting_for_each_other_is_refused():
    raw = app_spec(services=[{"name": "web", "kind": "web", "port": 8000, "sidecars": [
        {"name": "a", "image": "nginx:1.27", "depends_on": [{"container": "web"}, {"container": "b"}]},
        {"name": "b", "image": "nginx:1.27", "depends_on": [{"container": "a"}]}]}])
    with pytest.raises(ConfigError) as info:
        parse_app(raw)
    assert "wait for each other in a circle (a -> b -> a)" in str(info.value)


def test_a_digest_pinned_image_is_accepted():
    digest = "sha256:" + "0" * 64
    app = make_app(services=[{"name": "web", "kind": "web", "port": 8000,
                              "sidecars": [{"name": "nginx", "image": f"public.ecr.aws/nginx/nginx@{digest}"}]}])
    assert app.services[0].sidecars[0].image.endswith(digest)


def test_the_sandbox_runs_a_sidecar_in_the_main_containers_network_and_proxies_to_the_ingress_port():
    from generator.sandbox import compose
    app = make_app(services=[_web()])
    services = compose.compose(app)["services"]
    nginx = services["web-nginx"]
    assert nginx["network_mode"] == "service:web" and nginx["image"] == NGINX["image"]
    assert nginx["depends_on"] == {"web": {"condition": "service_healthy"}}     # HEALTHY, as in the task
    assert services["web"]["expose"] == ["8000", "8080"]
    assert "proxy_pass http://web:8080;" in compose.proxy_conf(app)


def test_the_sandbox_builds_a_built_sidecar_from_its_context():
    from generator.sandbox import compose
    nginx = compose.compose(make_app(services=[_web(sidecars=[BUILT_NGINX])]))["services"]["web-nginx"]
    assert nginx["build"] == {"context": "../nginx", "dockerfile": "Dockerfile"}
    assert nginx["image"].endswith("-web-nginx:local") and nginx["network_mode"] == "service:web"


@pytest.mark.slow
def test_an_app_with_sidecars_and_per_environment_variables_passes_the_whole_gate_and_checkov(tmp_path):
    """cfn-lint (with our rules), the size budgets and the parameter files (build.write raises on any finding), then
    checkov: sidecars with every dependency condition, a private ECR image, a built one, a stack output and
    per-environment variables in a packed-free app."""
    import json

    from generator import build
    from tests.support import checkov_failures
    sidecars = [{**NGINX, "image": "444444444444.dkr.ecr.eu-west-1.amazonaws.com/hive/nginx:1.27-hive3"},
                {"name": "init", "image": "public.ecr.aws/docker/library/busybox:1.36", "essential": False,
                 "command": ["sh", "-c", "echo ready"]},
                {"name": "agent", "image": "public.ecr.aws/cloudwatch-agent/cloudwatch-agent:1.300049.1",
                 "depends_on": [{"container": "init", "condition": "SUCCESS"},
                                {"container": "nginx", "condition": "START"}],
                 "environment": {"TARGET": "http://${output:ClusterLoadBalancerDns}"}}]
    app = make_app(services=[_web(sidecars=sidecars, environment={"LOG_LEVEL": "INFO"}),
                             {"name": "jobs", "kind": "worker", "sidecars": [
                                 {"name": "agent", "image": "public.ecr.aws/datadog/agent:7.60.0", "essential": False},
                                 {"name": "shipper", "build": {"dockerfile": "shipper/Dockerfile",
                                                               "context": "shipper"}}]}],
                   environments={"dev": {"cidr": "10.10.0.0/16", "services": {
                       "web": {"environment": {"LOG_LEVEL": "DEBUG", "FEATURE_X": "on"}}}}})
    build.write(app, tmp_path / "templates", tmp_path / "params")
    failed, passed = checkov_failures(tmp_path / "templates")
    assert failed == [] and passed > 10
    params = json.loads((tmp_path / "params" / "dev.json").read_text(encoding="utf-8"))
    values = {p["ParameterKey"]: p["ParameterValue"] for p in params}
    assert (values["WebEnvLogLevel"], values["WebEnvFeatureX"]) == ("DEBUG", "on")
