using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Akka.Actor;
using Akka.Discovery;
using Akka.Event;
using AkkaConfig = Akka.Configuration.Config;

namespace BitActors.Actors.Cluster;

/// <summary>
/// Akka.Discovery on Kubernetes: the contact points of a lookup are the running, not terminating pods of this namespace
/// that match the label selector, at their pod IP and the container port named as the lookup's port name (the
/// management port). It asks the API server as the pod's service account (token and CA certificate mounted at
/// /var/run/secrets/kubernetes.io/serviceaccount), which needs get/list on pods (infra/k8s/bitactors.yaml's Role).
/// <para>
/// Why not Akka.Discovery.KubernetesApi 1.5.73: it is built against KubernetesClient 17.0.14, which is not served here;
/// with the served 19.0.2 its pod listing (<c>ListNamespacedPodAsync</c>, which lost its <c>watch</c> parameter) fails with
/// MissingMethodException. This class asks the same REST endpoint (<c>GET /api/v1/namespaces/NS/pods?labelSelector=S</c>).
/// </para>
/// </summary>
public sealed class KubernetesPodDiscovery : ServiceDiscovery
{
    private const string ServiceAccount = "/var/run/secrets/kubernetes.io/serviceaccount";
    private readonly ILoggingAdapter _log;
    private readonly Uri _apiServer;
    private readonly string _namespace, _labelSelector, _tokenPath;
    private readonly HttpClient _http;

    public KubernetesPodDiscovery(ExtendedActorSystem system)
        : this(system, system.Settings.Config.GetConfig($"akka.discovery.{ClusterDiscovery.KubernetesMethodName}"))
    {
    }

    /// <param name="config">
    /// <c>label-selector</c>; <c>namespace</c> ("" = the pod's own); <c>api-server</c> ("" = https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT);
    /// <c>token-path</c> and <c>ca-path</c> ("" = the service account's).
    /// </param>
    public KubernetesPodDiscovery(ExtendedActorSystem system, AkkaConfig config)
    {
        // Given the whole configuration rather than this method's section: take the section.
        if (config.HasPath($"akka.discovery.{ClusterDiscovery.KubernetesMethodName}")) config = config.GetConfig($"akka.discovery.{ClusterDiscovery.KubernetesMethodName}");
        _log = Logging.GetLogger(system, typeof(KubernetesPodDiscovery));
        _labelSelector = config.GetString("label-selector", "");
        if (string.IsNullOrWhiteSpace(_labelSelector)) throw new InvalidDataException("Kubernetes discovery needs a label selector (bitactors.cluster.bootstrap.kubernetes.label-selector)");
        _tokenPath = Or(config.GetString("token-path", ""), $"{ServiceAccount}/token");
        _namespace = Or(config.GetString("namespace", ""), () => ReadIfExists($"{ServiceAccount}/namespace") ?? "default");
        _apiServer = new Uri(Or(config.GetString("api-server", ""), () =>
        {
            var host = Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST");
            var port = Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_PORT");
            if (string.IsNullOrEmpty(host) || string.IsNullOrEmpty(port))
                throw new InvalidDataException("discovery = kubernetes outside a pod: KUBERNETES_SERVICE_HOST/PORT are not set (use discovery = config or seed-nodes elsewhere)");
            return $"https://{(host.Contains(':') ? $"[{host}]" : host)}:{port}";
        }));
        _http = new HttpClient(TrustingOnly(Or(config.GetString("ca-path", ""), $"{ServiceAccount}/ca.crt")));
    }

    public override async Task<Resolved> Lookup(Lookup lookup, TimeSpan resolveTimeout)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get,
            new Uri(_apiServer, $"/api/v1/namespaces/{Uri.EscapeDataString(_namespace)}/pods?labelSelector={Uri.EscapeDataString(_labelSelector)}"));
        if (ReadIfExists(_tokenPath) is { } token) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Trim());
        using var cts = new CancellationTokenSource(resolveTimeout);
        using var response = await _http.SendAsync(request, cts.Token);
        var body = await response.Content.ReadAsStringAsync(cts.Token);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"Kubernetes API: listing pods of namespace '{_namespace}' with labels '{_labelSelector}' answered {(int)response.StatusCode}: {body}");
        var targets = ContactPoints(body, lookup.PortName);
        _log.Debug("Kubernetes discovery: {0} pod(s) with labels {1} in {2}: {3}", targets.Count, _labelSelector, _namespace, string.Join(", ", targets));
        return new Resolved(lookup.ServiceName, targets);
    }

    /// <summary>
    /// The contact points in a pod list (the API's <c>PodList</c> JSON): running pods that are not being deleted, at their
    /// pod IP, with the container port named <paramref name="portName"/> (no port when the name is empty; none when a pod lacks it).
    /// </summary>
    public static List<ResolvedTarget> ContactPoints(string podListJson, string? portName)
    {
        using var json = JsonDocument.Parse(podListJson);
        var targets = new List<ResolvedTarget>();
        if (!json.RootElement.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array) return targets;
        foreach (var pod in items.EnumerateArray())
        {
            if (pod.TryGetProperty("metadata", out var meta) && meta.TryGetProperty("deletionTimestamp", out var deleting) && deleting.ValueKind != JsonValueKind.Null) continue;
            if (!pod.TryGetProperty("status", out var status)) continue;
            if (!status.TryGetProperty("phase", out var phase) || phase.GetString() != "Running") continue;
            if (!status.TryGetProperty("podIP", out var ipElement) || !IPAddress.TryParse(ipElement.GetString(), out var ip)) continue;
            int? port = null;
            if (!string.IsNullOrEmpty(portName))
            {
                port = NamedPort(pod, portName);
                if (port is null) continue;
            }
            targets.Add(new ResolvedTarget(ip.ToString(), port, ip));
        }
        return targets;
    }

    private static int? NamedPort(JsonElement pod, string name)
    {
        if (!pod.TryGetProperty("spec", out var spec) || !spec.TryGetProperty("containers", out var containers)) return null;
        foreach (var container in containers.EnumerateArray())
        {
            if (!container.TryGetProperty("ports", out var ports)) continue;
            foreach (var port in ports.EnumerateArray())
                if (port.TryGetProperty("name", out var n) && n.GetString() == name && port.TryGetProperty("containerPort", out var number))
                    return number.GetInt32();
        }
        return null;
    }

    /// <summary>HTTPS that trusts the cluster's CA certificate (the API server's certificate is signed by it), when there is one.</summary>
    private static HttpClientHandler TrustingOnly(string caPath)
    {
        var handler = new HttpClientHandler();
        if (!File.Exists(caPath)) return handler;
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(caPath));
        handler.ServerCertificateCustomValidationCallback = (_, certificate, _, errors) =>
        {
            if (errors == SslPolicyErrors.None) return true;
            if (certificate is null || errors != SslPolicyErrors.RemoteCertificateChainErrors) return false;
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(certificate);
        };
        return handler;
    }

    private static string? ReadIfExists(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : null;

    private static string Or(string value, string fallback) => value.Length > 0 ? value : fallback;

    private static string Or(string value, Func<string> fallback) => value.Length > 0 ? value : fallback();
}
