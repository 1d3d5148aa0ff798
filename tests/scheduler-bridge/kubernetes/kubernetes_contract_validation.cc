#include "tests/scheduler-bridge/kubernetes/kubernetes_contract_validation.h"

#include <regex>
#include <set>

namespace canarymesh::bridge::testing {

namespace {

using nlohmann::json;

class Checker {
 public:
  std::vector<KubernetesCause> out;

  void Required(const std::string& field) {
    out.push_back({field, "FieldValueRequired", "Required value"});
  }
  void Invalid(const std::string& field, const json& value, const std::string& why) {
    out.push_back({field, "FieldValueInvalid", "Invalid value: " + value.dump() + ": " + why});
  }
  void Type(const std::string& field, const char* expected) {
    out.push_back({field, "FieldValueTypeInvalid", std::string("expected ") + expected});
  }
  void Unknown(const std::string& field) {
    out.push_back({field, "FieldValueNotSupported", "unknown field"});
  }

  void Keys(const json& object, const std::string& field, const std::set<std::string>& allowed) {
    if (!object.is_object()) return;
    for (auto it = object.begin(); it != object.end(); ++it) {
      if (!allowed.count(it.key())) Unknown(field + "." + it.key());
    }
  }
  // An optional integer >= minimum.
  void Int(const json& object, const char* key, const std::string& field, int64_t minimum) {
    if (!object.is_object() || !object.contains(key)) return;
    const json& value = object[key];
    if (!value.is_number_integer()) return Type(field + "." + key, "an integer");
    if (value.get<int64_t>() < minimum) {
      Invalid(field + "." + key, value,
              "must be greater than or equal to " + std::to_string(minimum));
    }
  }
  void Labels(const json& labels, const std::string& field) {
    if (!labels.is_object()) return Type(field, "an object");
    static const std::regex kKey(
        "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/"
        ")?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$");
    for (auto it = labels.begin(); it != labels.end(); ++it) {
      if (!std::regex_match(it.key(), kKey))
        Invalid(field, it.key(),
                "name part must consist of alphanumeric characters, '-', '_' or '.'");
      if (!it->is_string()) {
        Type(field + "." + it.key(), "a string");
      } else if (!IsLabelValue(it->get<std::string>())) {
        Invalid(field, *it,
                "a valid label must be an empty string or consist of alphanumeric characters, '-', "
                "'_' or '.', "
                "and must start and end with an alphanumeric character");
      }
    }
  }
};

bool IsQuantity(const json& value) {
  static const std::regex kQuantity(
      "^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+)?$");
  if (value.is_number()) return true;
  return value.is_string() && std::regex_match(value.get<std::string>(), kQuantity);
}

void CheckProbe(Checker& c, const json& probe, const std::string& field,
                const std::set<std::string>& port_names) {
  if (!probe.is_object()) return c.Type(field, "an object");
  c.Keys(
      probe, field,
      {"httpGet", "tcpSocket", "exec", "grpc", "initialDelaySeconds", "periodSeconds",
       "timeoutSeconds", "successThreshold", "failureThreshold", "terminationGracePeriodSeconds"});
  int handlers = 0;
  for (const char* handler : {"httpGet", "tcpSocket", "exec", "grpc"})
    handlers += probe.contains(handler) ? 1 : 0;
  if (handlers != 1)
    c.out.push_back({field, "FieldValueForbidden", "may not specify more than 1 handler type"});
  for (const char* handler : {"httpGet", "tcpSocket"}) {
    if (!probe.contains(handler)) continue;
    const json& h = probe[handler];
    std::string hfield = field + "." + handler;
    if (!h.is_object() || !h.contains("port")) {
      c.Required(hfield + ".port");
      continue;
    }
    const json& port = h["port"];
    if (port.is_string() && !port_names.count(port.get<std::string>())) {
      c.Invalid(hfield + ".port", port, "must be a named container port");
    } else if (port.is_number_integer() &&
               (port.get<int64_t>() < 1 || port.get<int64_t>() > 65535)) {
      c.Invalid(hfield + ".port", port, "must be between 1 and 65535, inclusive");
    } else if (!port.is_string() && !port.is_number_integer()) {
      c.Type(hfield + ".port", "an integer or a port name");
    }
    if (h.contains("path") &&
        (!h["path"].is_string() || h["path"].get<std::string>().rfind('/', 0) != 0)) {
      c.Invalid(hfield + ".path", h["path"], "must be an absolute path");
    }
  }
  c.Int(probe, "initialDelaySeconds", field, 0);
  for (const char* key :
       {"periodSeconds", "timeoutSeconds", "successThreshold", "failureThreshold"})
    c.Int(probe, key, field, 1);
}

void CheckContainer(Checker& c, const json& container, const std::string& field) {
  if (!container.is_object()) return c.Type(field, "an object");
  c.Keys(container, field,
         {"name", "image", "command", "args", "ports", "env", "resources", "readinessProbe",
          "livenessProbe", "startupProbe", "imagePullPolicy"});
  if (!container.contains("name")) {
    c.Required(field + ".name");
  } else if (!container["name"].is_string() ||
             !IsDns1123Label(container["name"].get<std::string>())) {
    c.Invalid(
        field + ".name", container["name"],
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'");
  }
  if (!container.contains("image") || !container["image"].is_string() ||
      container["image"].get<std::string>().empty()) {
    c.Required(field + ".image");
  }
  for (const char* key : {"command", "args"}) {
    if (!container.contains(key)) continue;
    bool strings = container[key].is_array();
    if (strings) {
      for (const auto& part : container[key]) strings = strings && part.is_string();
    }
    if (!strings) c.Type(field + "." + key, "an array of strings");
  }
  std::set<std::string> port_names;
  if (container.contains("ports")) {
    const json& ports = container["ports"];
    if (!ports.is_array()) {
      c.Type(field + ".ports", "an array");
    } else {
      for (size_t i = 0; i < ports.size(); ++i) {
        std::string pfield = field + ".ports[" + std::to_string(i) + "]";
        const json& port = ports[i];
        c.Keys(port, pfield, {"name", "containerPort", "protocol", "hostPort"});
        if (!port.is_object() || !port.contains("containerPort") ||
            !port["containerPort"].is_number_integer()) {
          c.Required(pfield + ".containerPort");
        } else if (port["containerPort"].get<int64_t>() < 1 ||
                   port["containerPort"].get<int64_t>() > 65535) {
          c.Invalid(pfield + ".containerPort", port["containerPort"],
                    "must be between 1 and 65535, inclusive");
        }
        if (port.is_object() && port.contains("name")) {
          if (!port["name"].is_string() || port["name"].get<std::string>().size() > 15) {
            c.Invalid(pfield + ".name", port["name"], "must be no more than 15 characters");
          } else {
            port_names.insert(port["name"].get<std::string>());
          }
        }
        if (port.is_object() && port.contains("protocol") && port["protocol"] != "TCP" &&
            port["protocol"] != "UDP" && port["protocol"] != "SCTP") {
          c.out.push_back({pfield + ".protocol", "FieldValueNotSupported",
                           "supported values: \"SCTP\", \"TCP\", \"UDP\""});
        }
      }
    }
  }
  if (container.contains("env")) {
    const json& env = container["env"];
    if (!env.is_array()) {
      c.Type(field + ".env", "an array");
    } else {
      for (size_t i = 0; i < env.size(); ++i) {
        std::string efield = field + ".env[" + std::to_string(i) + "]";
        c.Keys(env[i], efield, {"name", "value", "valueFrom"});
        if (!env[i].is_object() || !env[i].contains("name") || !env[i]["name"].is_string() ||
            env[i]["name"].get<std::string>().empty()) {
          c.Required(efield + ".name");
        } else if (env[i].contains("value") && !env[i]["value"].is_string()) {
          c.Type(efield + ".value", "a string");
        }
      }
    }
  }
  if (container.contains("resources")) {
    const json& resources = container["resources"];
    c.Keys(resources, field + ".resources", {"requests", "limits"});
    for (const char* kind : {"requests", "limits"}) {
      if (!resources.is_object() || !resources.contains(kind)) continue;
      const json& list = resources[kind];
      if (!list.is_object()) {
        c.Type(field + ".resources." + kind, "an object");
        continue;
      }
      for (auto it = list.begin(); it != list.end(); ++it) {
        if (!IsQuantity(*it)) {
          c.Invalid(field + ".resources." + kind + "[" + it.key() + "]", *it,
                    "must match the regular expression of a quantity");
        }
      }
    }
  }
  for (const char* probe : {"readinessProbe", "livenessProbe", "startupProbe"}) {
    if (container.contains(probe)) CheckProbe(c, container[probe], field + "." + probe, port_names);
  }
}

void CheckPodSpec(Checker& c, const json& pod, const std::string& field) {
  if (!pod.is_object()) return c.Required(field);
  c.Keys(pod, field,
         {"containers", "terminationGracePeriodSeconds", "affinity", "nodeSelector",
          "topologySpreadConstraints", "restartPolicy", "serviceAccountName"});
  if (!pod.contains("containers") || !pod["containers"].is_array() || pod["containers"].empty()) {
    c.Required(field + ".containers");
  } else {
    for (size_t i = 0; i < pod["containers"].size(); ++i) {
      CheckContainer(c, pod["containers"][i], field + ".containers[" + std::to_string(i) + "]");
    }
  }
  c.Int(pod, "terminationGracePeriodSeconds", field, 0);
  if (pod.contains("nodeSelector")) c.Labels(pod["nodeSelector"], field + ".nodeSelector");
  if (pod.contains("affinity")) {
    const json& affinity = pod["affinity"];
    c.Keys(affinity, field + ".affinity", {"podAntiAffinity", "podAffinity", "nodeAffinity"});
    if (affinity.is_object() && affinity.contains("podAntiAffinity")) {
      const json& anti = affinity["podAntiAffinity"];
      std::string afield = field + ".affinity.podAntiAffinity";
      c.Keys(anti, afield,
             {"requiredDuringSchedulingIgnoredDuringExecution",
              "preferredDuringSchedulingIgnoredDuringExecution"});
      const json* terms =
          anti.is_object() && anti.contains("requiredDuringSchedulingIgnoredDuringExecution")
              ? &anti["requiredDuringSchedulingIgnoredDuringExecution"]
              : nullptr;
      if (terms != nullptr && !terms->is_array())
        c.Type(afield + ".requiredDuringSchedulingIgnoredDuringExecution", "an array");
      if (terms != nullptr && terms->is_array()) {
        for (size_t i = 0; i < terms->size(); ++i) {
          std::string tfield =
              afield + ".requiredDuringSchedulingIgnoredDuringExecution[" + std::to_string(i) + "]";
          const json& term = (*terms)[i];
          c.Keys(term, tfield, {"labelSelector", "topologyKey", "namespaces"});
          if (!term.is_object() || !term.contains("topologyKey") ||
              !term["topologyKey"].is_string() || term["topologyKey"].get<std::string>().empty()) {
            c.Required(tfield + ".topologyKey");
          }
          if (term.is_object() && term.contains("labelSelector")) {
            const json& selector = term["labelSelector"];
            if (!selector.is_object() || !selector.contains("matchLabels")) {
              c.Required(tfield + ".labelSelector.matchLabels");
            } else {
              c.Labels(selector["matchLabels"], tfield + ".labelSelector.matchLabels");
            }
          }
        }
      }
    }
  }
  if (pod.contains("topologySpreadConstraints")) {
    const json& spread = pod["topologySpreadConstraints"];
    if (!spread.is_array()) return c.Type(field + ".topologySpreadConstraints", "an array");
    for (size_t i = 0; i < spread.size(); ++i) {
      std::string sfield = field + ".topologySpreadConstraints[" + std::to_string(i) + "]";
      const json& rule = spread[i];
      c.Keys(rule, sfield, {"maxSkew", "topologyKey", "whenUnsatisfiable", "labelSelector"});
      if (!rule.is_object() || !rule.contains("maxSkew")) c.Required(sfield + ".maxSkew");
      c.Int(rule, "maxSkew", sfield, 1);
      if (!rule.is_object() || !rule.contains("topologyKey") || !rule["topologyKey"].is_string() ||
          rule["topologyKey"].get<std::string>().empty()) {
        c.Required(sfield + ".topologyKey");
      }
      if (!rule.is_object() || (rule.value("whenUnsatisfiable", json()) != "DoNotSchedule" &&
                                rule.value("whenUnsatisfiable", json()) != "ScheduleAnyway")) {
        c.out.push_back({sfield + ".whenUnsatisfiable", "FieldValueNotSupported",
                         "supported values: \"DoNotSchedule\", \"ScheduleAnyway\""});
      }
    }
  }
}

}  // namespace

bool IsDns1123Label(const std::string& text) {
  static const std::regex kLabel("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
  return text.size() <= 63 && std::regex_match(text, kLabel);
}

bool IsDns1123Subdomain(const std::string& text) {
  static const std::regex kSubdomain(
      "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");
  return text.size() <= 253 && std::regex_match(text, kSubdomain);
}

bool IsLabelValue(const std::string& text) {
  static const std::regex kValue("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$");
  return text.size() <= 63 && std::regex_match(text, kValue);
}

std::vector<KubernetesCause> ValidateDeployment(const json& d) {
  Checker c;
  if (!d.is_object()) {
    c.Type("", "an object");
    return c.out;
  }
  c.Keys(d, "", {"apiVersion", "kind", "metadata", "spec", "status"});
  const json metadata = d.value("metadata", json::object());
  c.Keys(metadata, "metadata", {"name", "namespace", "labels", "annotations"});
  std::string name =
      metadata.is_object() && metadata.contains("name") && metadata["name"].is_string()
          ? metadata["name"].get<std::string>()
          : "";
  if (name.empty()) {
    c.Required("metadata.name");
  } else if (!IsDns1123Subdomain(name)) {
    c.Invalid("metadata.name", name,
              "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
              "'-' or '.'");
  }
  if (metadata.is_object() && metadata.contains("labels"))
    c.Labels(metadata["labels"], "metadata.labels");

  if (!d.contains("spec") || !d["spec"].is_object()) {
    c.Required("spec");
    return c.out;
  }
  const json& spec = d["spec"];
  c.Keys(spec, "spec",
         {"replicas", "selector", "template", "strategy", "minReadySeconds",
          "progressDeadlineSeconds", "revisionHistoryLimit", "paused"});
  c.Int(spec, "replicas", "spec", 0);
  c.Int(spec, "progressDeadlineSeconds", "spec", 1);
  const json* match = nullptr;
  if (!spec.contains("selector") || !spec["selector"].is_object() ||
      !spec["selector"].contains("matchLabels") || !spec["selector"]["matchLabels"].is_object() ||
      spec["selector"]["matchLabels"].empty()) {
    c.Required("spec.selector");
  } else {
    match = &spec["selector"]["matchLabels"];
    c.Labels(*match, "spec.selector.matchLabels");
  }
  if (!spec.contains("template") || !spec["template"].is_object()) {
    c.Required("spec.template");
    return c.out;
  }
  const json& tmpl = spec["template"];
  c.Keys(tmpl, "spec.template", {"metadata", "spec"});
  json template_labels = tmpl.contains("metadata") && tmpl["metadata"].is_object()
                             ? tmpl["metadata"].value("labels", json::object())
                             : json::object();
  c.Labels(template_labels, "spec.template.metadata.labels");
  if (match != nullptr) {
    for (auto it = match->begin(); it != match->end(); ++it) {
      if (!template_labels.is_object() || !template_labels.contains(it.key()) ||
          template_labels[it.key()] != *it) {
        c.Invalid("spec.template.metadata.labels", template_labels,
                  "`selector` does not match template `labels`");
        break;
      }
    }
  }
  CheckPodSpec(c, tmpl.value("spec", json()), "spec.template.spec");
  return c.out;
}

json FailureStatus(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
          {"status", "Failure"}, {"message", message}, {"reason", reason},
          {"code", code}};
}

json InvalidStatus(const std::string& kind, const std::string& group, const std::string& name,
                   const std::vector<KubernetesCause>& causes) {
  std::string list;
  json cause_list = json::array();
  for (const auto& cause : causes) {
    list += (list.empty() ? "" : ", ") + cause.field + ": " + cause.message;
    cause_list.push_back(
        {{"reason", cause.reason}, {"message", cause.message}, {"field", cause.field}});
  }
  json status = FailureStatus(422, "Invalid",
                              kind + "." + group + " \"" + name + "\" is invalid: [" + list + "]");
  status["details"] = {{"name", name}, {"group", group}, {"kind", kind}, {"causes", cause_list}};
  return status;
}

}  // namespace canarymesh::bridge::testing
