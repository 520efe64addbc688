using System.Net;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Akka.Discovery;
using BitActors.Actors.Cluster;
using BitActors.Streams.Tests;

namespace BitActors.Actors.Tests.Cluster;

/// <summary>
/// Kubernetes discovery without Kubernetes: pod lists as the API serves them, and a lookup against a fake API server
/// on loopback that checks the request (namespace, label selector, service account token).
/// </summary>
public class KubernetesPodDiscoveryTests
{
    private const string PodList = """
        { "kind": "PodList", "apiVersion": "v1", "items": [
          { "metadata": { "name": "coordinator-a" }, "status": { "phase": "Running", "podIP": "10.1.0.4" },
            "spec": { "containers": [ { "name": "bitactors", "ports": [ { "name": "remoting", "containerPort": 4053 }, { "name": "management", "containerPort": 8558 } ] } ] } },
          { "metadata": { "name": "trainer-b" }, "status": { "phase": "Running", "podIP": "10.1.0.9" },
            "spec": { "containers": [ { "name": "bitactors", "ports": [ { "name": "management", "containerPort": 8559 } ] } ] } },
          { "metadata": { "name": "starting" }, "status": { "phase": "Pending" },
            "spec": { "containers": [ { "name": "bitactors", "ports": [ { "name": "management", "containerPort": 8558 } ] } ] } },
          { "metadata": { "name": "leaving", "deletionTimestamp": "2026-11-27T10:00:00Z" }, "status": { "phase": "Running", "podIP": "10.1.0.7" },
            "spec": { "containers": [ { "name": "bitactors", "ports": [ { "name": "management", "containerPort": 8558 } ] } ] } },
          { "metadata": { "name": "no-management-port" }, "status": { "phase": "Running", "podIP": "10.1.0.8" },
            "spec": { "containers": [ { "name": "other", "ports": [ { "name": "http", "containerPort": 80 } ] } ] } }
        ] }
        """;

    [Fact]
    public void TheContactPointsAreTheRunningPodsNotBeingDeletedAtTheirNamedPort()
    {
        var targets = KubernetesPodDiscovery.ContactPoints(PodList, "management");
        Assert.Equal(["10.1.0.4:8558", "10.1.0.9:8559"], targets.Select(t => $"{t.Host}:{t.Port}"));
        Assert.Equal(IPAddress.Parse("10.1.0.4"), targets[0].Address);
        Assert.Equal(["10.1.0.4", "10.1.0.9", "10.1.0.8"], KubernetesPodDiscovery.ContactPoints(PodList, "").Select(t => t.Host));
    }

    [Fact]
    public async Task ALookupAsksTheApiServerForThePodsOfItsNamespaceAndLabelsWithTheServiceAccountToken()
    {
        var port = FreePorts.One();
        using var api = new HttpListener();
        api.Prefixes.Add($"http://127.0.0.1:{port}/");
        api.Start();
        var token = Path.GetTempFileName();
        File.WriteAllText(token, "secret-token\n");
        using var system = ActorSystem.Create("k8s-test");
        try
        {
            var discovery = new KubernetesPodDiscovery((ExtendedActorSystem)system, ConfigurationFactory.ParseString($$"""
                api-server = "http://127.0.0.1:{{port}}", token-path = "{{token}}", namespace = ml, label-selector = "app=bitactors"
                """));
            var serve = Task.Run(async () =>
            {
                var context = await api.GetContextAsync();
                var request = (context.Request.Url!.AbsolutePath, context.Request.QueryString["labelSelector"], context.Request.Headers["Authorization"]);
                var body = Encoding.UTF8.GetBytes(PodList);
                context.Response.ContentType = "application/json";
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
                return request;
            });
            var resolved = await discovery.Lookup(new Lookup("bitactors", "management", "tcp"), TimeSpan.FromSeconds(10));
            var (path, selector, authorization) = await serve;
            Assert.Equal("/api/v1/namespaces/ml/pods", path);
            Assert.Equal("app=bitactors", selector);
            Assert.Equal("Bearer secret-token", authorization);
            Assert.Equal(["10.1.0.4:8558", "10.1.0.9:8559"], resolved.Addresses.Select(t => $"{t.Host}:{t.Port}"));
        }
        finally
        {
            File.Delete(token);
            await system.Terminate();
        }
    }

    [Fact]
    public async Task ARefusedListingNamesTheNamespaceTheLabelsAndTheApisAnswer()
    {
        var port = FreePorts.One();
        using var api = new HttpListener();
        api.Prefixes.Add($"http://127.0.0.1:{port}/");
        api.Start();
        using var system = ActorSystem.Create("k8s-test");
        try
        {
            var discovery = new KubernetesPodDiscovery((ExtendedActorSystem)system, ConfigurationFactory.ParseString($$"""
                api-server = "http://127.0.0.1:{{port}}", token-path = "/nonexistent", namespace = ml, label-selector = "app=bitactors"
                """));
            var serve = Task.Run(async () =>
            {
                var context = await api.GetContextAsync();
                context.Response.StatusCode = 403;
                await context.Response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes("pods is forbidden: cannot list resource \"pods\""));
                context.Response.Close();
            });
            var e = await Assert.ThrowsAsync<HttpRequestException>(() => discovery.Lookup(new Lookup("bitactors", "management", "tcp"), TimeSpan.FromSeconds(10)));
            await serve;
            Assert.Contains("namespace 'ml' with labels 'app=bitactors' answered 403", e.Message);
            Assert.Contains("cannot list resource", e.Message);
        }
        finally
        {
            await system.Terminate();
        }
    }
}
