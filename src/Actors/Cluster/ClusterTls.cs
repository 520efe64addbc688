using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote.Transport.DotNetty;

namespace BitActors.Actors.Cluster;

/// <summary>
/// <c>bitactors.cluster.tls</c>: remoting over TLS with one certificate the whole cluster shares (a PKCS#12 file with
/// its private key, from a Kubernetes Secret or a compose secret). Both sides of every connection show it (mutual TLS)
/// and each accepts only a peer whose certificate is that very certificate (its SHA-256 over the DER bytes): the file
/// is the cluster's membership card, and a node without it cannot connect, let alone join or send a message. No CA is
/// involved, so a self-signed certificate is the usual one (docs/cluster.md says how to make it). An empty path is plain TCP.
/// </summary>
public sealed record ClusterTls(string CertificatePath, string CertificatePassword)
{
    public static readonly ClusterTls None = new("", "");

    public bool Enabled => CertificatePath.Length > 0;

    public static ClusterTls From(Config cluster) =>
        new(cluster.GetString("tls.certificate-path", "").Trim(), cluster.GetString("tls.certificate-password", ""));

    /// <summary>The certificate with its private key (null when TLS is off); a missing or unreadable file, a wrong password, or no private key is refused naming the setting.</summary>
    public X509Certificate2? Load()
    {
        if (!Enabled) return null;
        if (!File.Exists(CertificatePath))
            throw new InvalidDataException($"bitactors.cluster.tls.certificate-path: {CertificatePath} does not exist (the cluster's PKCS#12 certificate; see docs/cluster.md)");
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(CertificatePath, CertificatePassword.Length > 0 ? CertificatePassword : null);
        }
        catch (CryptographicException e)
        {
            throw new InvalidDataException($"bitactors.cluster.tls.certificate-path: {CertificatePath} cannot be read as PKCS#12 with the password in " +
                $"bitactors.cluster.tls.certificate-password ({e.Message})", e);
        }
        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw new InvalidDataException($"bitactors.cluster.tls.certificate-path: {CertificatePath} holds no private key: export the certificate with its key (openssl pkcs12 -export -inkey …)");
        }
        return certificate;
    }

    /// <summary>
    /// The peer check, on both ends of a connection: the certificate shown is <paramref name="own"/>, byte for byte. Chain
    /// and host-name errors do not matter (every node shows the same self-signed certificate, under any address); any
    /// other certificate, or none, is refused and logged.
    /// </summary>
    public static CertificateValidationCallback SameAs(X509Certificate2 own)
    {
        var expected = SHA256.HashData(own.RawData);
        return (certificate, _, peer, _, log) =>
        {
            if (certificate is not null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(certificate.RawData), expected)) return true;
            log?.Warning("TLS: {0} shows {1}, not the cluster's certificate (bitactors.cluster.tls): connection refused", peer,
                certificate is null ? "no certificate" : $"certificate {certificate.Subject} (SHA-256 {Convert.ToHexString(SHA256.HashData(certificate.RawData))[..16]}…)");
            return false;
        };
    }

    /// <summary>The path only: the password stays out of logs.</summary>
    public override string ToString() => Enabled ? $"TLS with {CertificatePath}" : "plain TCP";
}
