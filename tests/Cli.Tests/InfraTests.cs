using System.Diagnostics;
using System.Text.Json;
using Akka.Configuration;
using BitActors.Actors.Cluster;
using BitActors.Actors.Hosting;
using Xunit.Abstractions;

namespace BitActors.Cli.Tests;

/// <summary>The deployment files in infra/ are valid: the compose file as docker compose reads it, the node configurations as nodes read them.</summary>
public class InfraTests(ITestOutputHelper output)
{
    private static readonly string Root = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BitActors.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException($"no BitActors.sln above {AppContext.BaseDirectory}");
    }

    [Fact]
    public async Task TheComposeFileIsValidForDockerCompose()
    {
        var compose = new[] { "/usr/bin/docker-compose", "/usr/local/bin/docker-compose" }.FirstOrDefault(File.Exists);
        if (compose is null)
        {
            Assert.False(Environment.UserName == "root", "docker-compose is missing: ./run-tests and .ci/run install the Debian package docker-compose");
            output.WriteLine("SKIPPED: docker-compose is not installed (sudo apt-get install docker-compose) and this user cannot install it");
            return;
        }
        var psi = new ProcessStartInfo(compose, ["-f", Path.Combine(Root, "infra", "docker-compose.yml"), "config", "-q"])
            { RedirectStandardError = true, RedirectStandardOutput = true };
        using var process = Process.Start(psi)!;
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, errors);
    }

    [Fact]
    public void TheComposeNodeConfigurationGivesAClusterOfThePublishedServices()
    {
        var config = ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(Root, "infra", "cluster.conf"))).WithFallback(BitActorsConfig.Reference());
        var cluster = ClusterSettings.From(config).WithRoles("trainer");
        Assert.Equal("0.0.0.0", cluster.Hostname); // binds every interface; `node` advertises $BITACTORS_PUBLIC_HOSTNAME
        Assert.Equal(4053, cluster.Port);
        Assert.Equal(["akka.tcp://bitactors@coordinator:4053"], cluster.SeedNodes);
        Assert.Equal(["cuda"], cluster.Devices);
        Assert.Equal("kafka-1:9092,kafka-2:9092,kafka-3:9092", config.GetString("bitactors.kafka.bootstrap-servers"));
        Assert.Equal("/artifacts", ArtifactStore.At(config.GetString("bitactors.cluster.artifacts")).Root);
        Assert.Equal("/run/secrets/bitactors-cluster-tls", cluster.Tls.CertificatePath); // remoting over TLS: the compose secret
        Assert.Equal(["akka.ssl.tcp://bitactors@coordinator:4053"], cluster.JoinSeedNodes);
    }

    [Fact]
    public void TheKubernetesConfigMapIsAValidNodeConfiguration()
    {
        var yaml = File.ReadAllLines(Path.Combine(Root, "infra", "k8s", "bitactors.yaml"));
        var start = Array.FindIndex(yaml, l => l.Trim() == "cluster.conf: |") + 1;
        var hocon = string.Join('\n', yaml.Skip(start).TakeWhile(l => l.StartsWith("    ", StringComparison.Ordinal) || l.Length == 0));
        var config = ConfigurationFactory.ParseString(hocon).WithFallback(BitActorsConfig.Reference());
        var cluster = ClusterSettings.From(config);
        Assert.Equal(ClusterDiscovery.Kubernetes, cluster.Discovery.Method);
        Assert.Equal("app=bitactors", cluster.Discovery.KubernetesLabelSelector);
        Assert.Equal("management", cluster.Discovery.KubernetesPortName);
        Assert.Equal(8558, cluster.Discovery.ManagementPort);
        Assert.Empty(cluster.JoinSeedNodes);
        Assert.Equal("R50x1", config.GetString("bitactors.cluster.job.arch"));
        Assert.Equal([1, 5, 10], config.GetIntList("bitactors.cluster.job.shots"));
        Assert.Equal("/etc/bitactors-tls/cluster.p12", cluster.Tls.CertificatePath); // the Secret bitactors-cluster-tls, mounted there
    }

    /// <summary>
    /// The manifests as YAML (python3-yaml reads them): every node pod carries the label the discovery selects, runs as
    /// the service account whose Role may list pods, names the management port the discovery asks for, and is probed
    /// on the management endpoint's health routes.
    /// </summary>
    [Fact]
    public async Task TheKubernetesManifestsGiveKubernetesDiscoveryWhatItNeeds()
    {
        if (await YamlAsync("infra", "k8s", "bitactors.yaml") is not { } docs) return;
        JsonElement Doc(string kind, string name) => Assert.Single(docs, d => d.GetProperty("kind").GetString() == kind && d.GetProperty("metadata").GetProperty("name").GetString() == name);

        Doc("ServiceAccount", "bitactors");
        var rule = Assert.Single(Doc("Role", "bitactors-pod-reader").GetProperty("rules").EnumerateArray());
        Assert.Contains("pods", rule.GetProperty("resources").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(["get", "list", "watch"], rule.GetProperty("verbs").EnumerateArray().Select(v => v.GetString()!).Order());
        var binding = Doc("RoleBinding", "bitactors-pod-reader");
        Assert.Equal("bitactors-pod-reader", binding.GetProperty("roleRef").GetProperty("name").GetString());
        Assert.Equal("bitactors", Assert.Single(binding.GetProperty("subjects").EnumerateArray()).GetProperty("name").GetString());

        foreach (var name in new[] { "bitactors-coordinator", "bitactors-trainer" })
        {
            var pod = Doc("Deployment", name).GetProperty("spec").GetProperty("template");
            Assert.Equal("bitactors", pod.GetProperty("metadata").GetProperty("labels").GetProperty("app").GetString()); // label-selector app=bitactors
            Assert.Equal("bitactors", pod.GetProperty("spec").GetProperty("serviceAccountName").GetString());
            var container = Assert.Single(pod.GetProperty("spec").GetProperty("containers").EnumerateArray());
            var management = Assert.Single(container.GetProperty("ports").EnumerateArray(), p => p.GetProperty("name").GetString() == "management");
            Assert.Equal(8558, management.GetProperty("containerPort").GetInt32());
            Assert.Equal("/alive", container.GetProperty("livenessProbe").GetProperty("httpGet").GetProperty("path").GetString());
            Assert.Equal("/ready", container.GetProperty("readinessProbe").GetProperty("httpGet").GetProperty("path").GetString());
            Assert.Equal("management", container.GetProperty("readinessProbe").GetProperty("httpGet").GetProperty("port").GetString());
            var advertised = Assert.Single(container.GetProperty("env").EnumerateArray(), e => e.GetProperty("name").GetString() == "BITACTORS_PUBLIC_HOSTNAME");
            Assert.Equal("status.podIP", advertised.GetProperty("valueFrom").GetProperty("fieldRef").GetProperty("fieldPath").GetString());
        }
    }

    /// <summary>What a platform team applies: non-root pods, no privilege escalation, a read-only root with a writable
    /// /tmp, memory limits, a PodDisruptionBudget for the coordinators, Kafka security from a Secret, and the images named
    /// once, in the kustomization.</summary>
    [Fact]
    public async Task TheKubernetesManifestsAreHardenedForAPlatformTeam()
    {
        if (await YamlAsync("infra", "k8s", "bitactors.yaml") is not { } docs) return;
        JsonElement Doc(string kind, string name) => Assert.Single(docs, d => d.GetProperty("kind").GetString() == kind && d.GetProperty("metadata").GetProperty("name").GetString() == name);

        var pdb = Doc("PodDisruptionBudget", "bitactors-coordinator").GetProperty("spec");
        Assert.Equal(1, pdb.GetProperty("minAvailable").GetInt32());
        Assert.Equal("coordinator", pdb.GetProperty("selector").GetProperty("matchLabels").GetProperty("role").GetString());

        var images = new List<string>();
        foreach (var name in new[] { "bitactors-coordinator", "bitactors-trainer" })
        {
            var pod = Doc("Deployment", name).GetProperty("spec").GetProperty("template").GetProperty("spec");
            Assert.True(pod.GetProperty("securityContext").GetProperty("runAsNonRoot").GetBoolean(), name);
            var container = Assert.Single(pod.GetProperty("containers").EnumerateArray());
            images.Add(container.GetProperty("image").GetString()!);
            var security = container.GetProperty("securityContext");
            Assert.False(security.GetProperty("allowPrivilegeEscalation").GetBoolean(), name);
            Assert.True(security.GetProperty("readOnlyRootFilesystem").GetBoolean(), name);
            Assert.Contains("ALL", security.GetProperty("capabilities").GetProperty("drop").EnumerateArray().Select(c => c.GetString()));
            Assert.True(container.GetProperty("resources").GetProperty("limits").TryGetProperty("memory", out _), $"{name} has no memory limit");
            Assert.Contains(container.GetProperty("volumeMounts").EnumerateArray(), m => m.GetProperty("mountPath").GetString() == "/tmp");
            var secret = Assert.Single(container.GetProperty("envFrom").EnumerateArray()).GetProperty("secretRef").GetProperty("name").GetString();
            Assert.Equal("bitactors-kafka", secret);
            Assert.Contains(pod.GetProperty("volumes").EnumerateArray(), v => v.TryGetProperty("secret", out var s) && s.GetProperty("secretName").GetString() == "bitactors-kafka");
        }
        if (await YamlAsync("infra", "k8s", "kustomization.yaml") is not [var kustomization]) return;
        Assert.Contains("bitactors.yaml", kustomization.GetProperty("resources").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(images.Order(), kustomization.GetProperty("images").EnumerateArray().Select(i => i.GetProperty("name").GetString()!).Order());
    }

    /// <summary>The compose file as Compose reads it (python3-yaml): no obsolete `version` key; every broker has a
    /// health check; topics are created once the brokers are healthy; nodes start after the topics exist, trainers after
    /// the coordinator is healthy, each node with its health check.</summary>
    [Fact]
    public async Task TheComposeFileStartsEachServiceOnlyOnceWhatItNeedsIsHealthy()
    {
        if (await YamlAsync("infra", "docker-compose.yml") is not [var compose]) return;
        Assert.False(compose.TryGetProperty("version", out _), "the obsolete top-level `version` key");
        var services = compose.GetProperty("services");
        string Condition(string service, string on) =>
            services.GetProperty(service).GetProperty("depends_on").GetProperty(on).GetProperty("condition").GetString()!;
        foreach (var broker in new[] { "kafka-1", "kafka-2", "kafka-3" })
        {
            Assert.True(services.GetProperty(broker).TryGetProperty("healthcheck", out _), $"{broker} has no healthcheck");
            Assert.Equal("service_healthy", Condition("kafka-topics", broker));
        }
        foreach (var node in new[] { "coordinator", "trainer" })
        {
            Assert.Equal("service_completed_successfully", Condition(node, "kafka-topics"));
            Assert.Contains("bitactors-healthcheck", services.GetProperty(node).GetProperty("healthcheck").GetProperty("test").ToString());
        }
        Assert.Equal("service_healthy", Condition("trainer", "coordinator"));
    }

    /// <summary>
    /// Every pod of the app is a member only with the cluster certificate: both Deployments mount the Secret
    /// bitactors-cluster-tls where the ConfigMap's tls.certificate-path points and take its password from it; the
    /// NetworkPolicy selects the app's pods and lets only them reach remoting, and only pods of the namespace (no
    /// namespaceSelector, no ipBlock) reach management. The compose nodes get the certificate as a compose secret.
    /// </summary>
    [Fact]
    public async Task TheClusterCertificateReachesEveryNodeAndTheNetworkPolicyGuardsRemotingAndManagement()
    {
        if (await YamlAsync("infra", "k8s", "bitactors.yaml") is not { } docs) return;
        foreach (var name in new[] { "bitactors-coordinator", "bitactors-trainer" })
        {
            var pod = Assert.Single(docs, d => d.GetProperty("kind").GetString() == "Deployment" && d.GetProperty("metadata").GetProperty("name").GetString() == name)
                .GetProperty("spec").GetProperty("template").GetProperty("spec");
            var volume = Assert.Single(pod.GetProperty("volumes").EnumerateArray(), v => v.GetProperty("name").GetString() == "tls");
            Assert.Equal("bitactors-cluster-tls", volume.GetProperty("secret").GetProperty("secretName").GetString());
            Assert.Equal("cluster.p12", Assert.Single(volume.GetProperty("secret").GetProperty("items").EnumerateArray()).GetProperty("path").GetString());
            var container = Assert.Single(pod.GetProperty("containers").EnumerateArray());
            var mount = Assert.Single(container.GetProperty("volumeMounts").EnumerateArray(), m => m.GetProperty("name").GetString() == "tls");
            Assert.Equal("/etc/bitactors-tls", mount.GetProperty("mountPath").GetString()); // + cluster.p12: the ConfigMap's certificate-path
            var password = Assert.Single(container.GetProperty("env").EnumerateArray(), e => e.GetProperty("name").GetString() == "BITACTORS__CLUSTER__TLS__CERTIFICATE_PASSWORD");
            Assert.Equal("bitactors-cluster-tls", password.GetProperty("valueFrom").GetProperty("secretKeyRef").GetProperty("name").GetString());
            var ports = container.GetProperty("ports").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("containerPort").GetInt32());
            Assert.Equal(4053, ports["remoting"]);
            Assert.Equal(8558, ports["management"]);
            Assert.Equal(9464, ports["metrics"]);
        }

        var policy = Assert.Single(docs, d => d.GetProperty("kind").GetString() == "NetworkPolicy").GetProperty("spec");
        Assert.Equal("bitactors", policy.GetProperty("podSelector").GetProperty("matchLabels").GetProperty("app").GetString());
        Assert.Equal(["Ingress"], policy.GetProperty("policyTypes").EnumerateArray().Select(t => t.GetString()));
        var rules = policy.GetProperty("ingress").EnumerateArray().ToList();
        JsonElement RuleFor(string port) => Assert.Single(rules, r => r.GetProperty("ports").EnumerateArray().Any(p => p.GetProperty("port").ToString() == port));
        // Every rule names its ports (a rule without ports would open them all) and its sources (one without would admit anyone).
        Assert.All(rules, r => Assert.Single(r.GetProperty("ports").EnumerateArray()));
        var remoting = Assert.Single(RuleFor("remoting").GetProperty("from").EnumerateArray());
        Assert.Equal(["podSelector"], remoting.EnumerateObject().Select(p => p.Name));
        Assert.Equal("bitactors", remoting.GetProperty("podSelector").GetProperty("matchLabels").GetProperty("app").GetString());
        var management = Assert.Single(RuleFor("management").GetProperty("from").EnumerateArray());
        Assert.Equal(["podSelector"], management.EnumerateObject().Select(p => p.Name)); // this namespace's pods only
        var metrics = Assert.Single(RuleFor("metrics").GetProperty("from").EnumerateArray());
        Assert.Equal(["namespaceSelector"], metrics.EnumerateObject().Select(p => p.Name)); // Prometheus, in its own namespace
        Assert.Equal(3, rules.Count);

        if (await YamlAsync("infra", "docker-compose.yml") is not [var compose]) return;
        Assert.True(compose.GetProperty("secrets").TryGetProperty("bitactors-cluster-tls", out _));
        foreach (var service in new[] { "coordinator", "trainer" })
        {
            var node = compose.GetProperty("services").GetProperty(service);
            Assert.Contains("bitactors-cluster-tls", node.GetProperty("secrets").EnumerateArray().Select(s => s.GetString()));
            Assert.True(node.GetProperty("environment").TryGetProperty("BITACTORS__CLUSTER__TLS__CERTIFICATE_PASSWORD", out _), service);
        }
    }

    /// <summary>The documents of a YAML file as JSON (python3-yaml reads it; merge keys resolved); null when python3-yaml is missing and cannot be.</summary>
    private async Task<List<JsonElement>?> YamlAsync(params string[] path)
    {
        if (!await HasPythonYamlAsync())
        {
            Assert.False(Environment.UserName == "root", "python3-yaml is missing: ./run-tests and .ci/run install the Debian package python3-yaml");
            output.WriteLine("SKIPPED: python3-yaml is not installed (sudo apt-get install python3-yaml) and this user cannot install it");
            return null;
        }
        var psi = new ProcessStartInfo("/usr/bin/python3", ["-c", "import sys, json, yaml; json.dump(list(yaml.safe_load_all(open(sys.argv[1]))), sys.stdout)",
            Path.Combine([Root, .. path])]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(psi)!;
        var json = await process.StandardOutput.ReadToEndAsync();
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, errors);
        return JsonDocument.Parse(json).RootElement.EnumerateArray().ToList();
    }

    private static async Task<bool> HasPythonYamlAsync()
    {
        try
        {
            using var probe = Process.Start(new ProcessStartInfo("/usr/bin/python3", ["-c", "import yaml"]) { RedirectStandardError = true })!;
            await probe.WaitForExitAsync();
            return probe.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // no python3 at all
        }
    }
}
